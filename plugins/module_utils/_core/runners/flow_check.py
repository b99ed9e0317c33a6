# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Runs calico_flow_check: build the evaluator's world from a snapshot (one read per kind) or from given objects.

Private to this collection: no stability promise.
"""

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._core.dataplane.flows import check_flow, mismatch_line, world_from_objects
from ansible_collections.clusteredge.calico.plugins.module_utils._core.dataplane.world import World
from ansible_collections.clusteredge.calico.plugins.module_utils._core.errors import CalicoModuleError
from ansible_collections.clusteredge.calico.plugins.module_utils._core.facts import exposure_fields, read_snapshot
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure.resolve import discover_pod_ranges, discover_service_ranges

# The exposure's snapshot plus what a verdict needs besides: Tiers (where they exist) and Pods.
FLOW_FIELDS = ("tiers", "pods")


def world_from_api(client, params):
    cluster = read_snapshot(client, exposure_fields(params) + FLOW_FIELDS)
    service_ranges, _source = discover_service_ranges(params.get("service_cidrs"), cluster.service_cidr_objects, cluster.bgp_default)
    return World(
        tiers=cluster.tiers, hostendpoints=cluster.hostendpoints, global_policies=cluster.global_policies,
        network_policies=cluster.network_policies, global_network_sets=cluster.network_sets, felix_configs=cluster.felix_configs,
        services=list(cluster.services.values()), nodes=cluster.nodes, pods=cluster.pods, namespaces=cluster.namespaces,
        pod_cidrs=discover_pod_ranges(params.get("pod_cidrs"), cluster.ippools), service_cidrs=service_ranges)


def run(module, connect):
    params = module.params
    requests = {}
    if params.get("objects") is not None:
        nameless = [i for i, obj in enumerate(params["objects"])
                    if not obj.get("kind") or not isinstance(obj.get("metadata"), dict) or not obj["metadata"].get("name")]
        if nameless:
            raise CalicoModuleError("objects[%s]: every object needs a kind and a metadata.name" % "], objects[".join(str(i) for i in nameless))
        world = world_from_objects(params["objects"], params.get("pod_cidrs"), params.get("service_cidrs"))
    else:
        client = connect()
        world = world_from_api(client, params)
        requests = client.request_counts
    try:
        results = [check_flow(world, flow) for flow in params["flows"]]
    except ValueError as exc:
        raise CalicoModuleError("A flow cannot be resolved: %s" % exc) from None
    mismatches = [res for res in results if not res["ok"]]
    outcome = dict(changed=False, flows=results, checked=len(results), mismatches=len(mismatches), api_requests=requests)
    if mismatches and params["fail_on_mismatch"]:
        raise CalicoModuleError("%d of %d flows do not behave as intended: %s"
                                % (len(mismatches), len(results), " | ".join(mismatch_line(m) for m in mismatches)), **outcome)
    return outcome
