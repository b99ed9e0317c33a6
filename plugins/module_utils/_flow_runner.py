# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Runs calico_flow_check: build the evaluator's world from the API (one read per kind) or from given objects.

Private to this collection: no stability promise.
"""

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils import _flow
from ansible_collections.clusteredge.calico.plugins.module_utils import _resources as r
from ansible_collections.clusteredge.calico.plugins.module_utils._client import ApiError, CalicoClient
from ansible_collections.clusteredge.calico.plugins.module_utils._exposure_runner import (
    Reads,
    discover_pod_ranges,
    discover_service_ranges,
)
from ansible_collections.clusteredge.calico.plugins.module_utils._runner import build_plain_module

FLOW_SPEC = dict(
    name=dict(type="str"),
    source=dict(type="str", required=True),
    destination=dict(type="str", required=True),
    port=dict(type="int", required=True),
    protocol=dict(type="str", default="TCP"),
    ingress_node=dict(type="str", required=True),
    interface=dict(type="str", default="eth0"),
    expect=dict(type="str", choices=["allow", "deny"]),
)

KIND_FIELDS = {
    "HostEndpoint": "hostendpoints", "GlobalNetworkPolicy": "global_policies", "NetworkPolicy": "network_policies",
    "GlobalNetworkSet": "global_network_sets", "FelixConfiguration": "felix_configs", "Service": "services",
    "Node": "nodes", "Pod": "pods", "Namespace": "namespaces", "EndpointSlice": "endpoint_slices",
}


def world_from_objects(objects, pod_cidrs, service_cidrs):
    fields = dict((name, []) for name in KIND_FIELDS.values())
    for obj in objects:
        field = KIND_FIELDS.get(obj.get("kind"))
        if field:
            fields[field].append(obj)
    if not fields["endpoint_slices"]:
        fields["endpoint_slices"] = None
    return _flow.World(pod_cidrs=list(pod_cidrs or []), service_cidrs=list(service_cidrs or []), **fields)


def world_from_api(client, params):
    reads = Reads(client, {"pod_cidrs": params.get("pod_cidrs"), "service_cidrs": params.get("service_cidrs")})
    service_ranges, _source = discover_service_ranges(params, reads)
    return _flow.World(
        hostendpoints=reads.hostendpoints, global_policies=reads.gnps, network_policies=reads.nps,
        global_network_sets=reads.network_sets, felix_configs=reads.felix_configs, services=list(reads.services.values()),
        nodes=reads.nodes, pods=client.list(r.PODS), namespaces=client.list(r.NAMESPACES),
        pod_cidrs=discover_pod_ranges(params, reads), service_cidrs=service_ranges)


def check_flow(world, spec):
    flow = _flow.Flow(source_ip=spec["source"], destination_ip=spec["destination"], port=spec["port"],
                      protocol=spec.get("protocol") or "TCP", ingress_node=spec["ingress_node"],
                      ingress_interface=spec.get("interface") or "eth0")
    verdicts = _flow.evaluate_all(world, flow)
    # A client must get the same answer whichever backend kube-proxy picks: every case has to meet the expectation.
    allowed_all = all(v.allowed for v in verdicts)
    denied_all = not any(v.allowed for v in verdicts)
    expect = spec.get("expect")
    ok = expect is None or (expect == "allow" and allowed_all) or (expect == "deny" and denied_all)
    name = spec.get("name") or "%s %s -> %s:%s via %s" % (flow.protocol, flow.source_ip, flow.destination_ip, flow.port, flow.ingress_node)
    return dict(name=name, expect=expect, ok=ok, allowed=allowed_all, denied=denied_all,
                verdicts=[dict(backend=v.backend, allowed=v.allowed, decided_by=v.decided_by, explanation=_flow.explain(v))
                          for v in verdicts])


def _mismatch_line(result):
    wrong = [v for v in result["verdicts"] if v["allowed"] != (result["expect"] == "allow")]
    detail = "; ".join("%s backend %s by %s" % (v["backend"], "allowed" if v["allowed"] else "denied", v["decided_by"]) for v in wrong)
    return "%s: expected %s, %s" % (result["name"], result["expect"], detail)


def run_flow_check():
    module = build_plain_module(dict(
        flows=dict(type="list", elements="dict", options=FLOW_SPEC, required=True),
        objects=dict(type="list", elements="dict"),
        pod_cidrs=dict(type="list", elements="str"),
        service_cidrs=dict(type="list", elements="str"),
        fail_on_mismatch=dict(type="bool", default=True),
    ))
    params = module.params
    requests = {}
    if params.get("objects") is not None:
        world = world_from_objects(params["objects"], params.get("pod_cidrs"), params.get("service_cidrs"))
    else:
        client = CalicoClient.from_module(module)
        try:
            world = world_from_api(client, params)
        except ApiError as exc:
            module.fail_json(msg=str(exc), api_status=exc.status)
        requests = client.request_counts
    results = [check_flow(world, flow) for flow in params["flows"]]
    mismatches = [res for res in results if not res["ok"]]
    outcome = dict(changed=False, flows=results, checked=len(results), mismatches=len(mismatches), api_requests=requests)
    if mismatches and params["fail_on_mismatch"]:
        module.fail_json(msg="%d of %d flows do not behave as intended: %s"
                         % (len(mismatches), len(results), " | ".join(_mismatch_line(m) for m in mismatches)), **outcome)
    module.exit_json(**outcome)
