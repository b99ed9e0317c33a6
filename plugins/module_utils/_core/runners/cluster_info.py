# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Runs calico_cluster_info: a snapshot of a handful of kinds, one request each, then the pure analysis in model.cluster.

Private to this collection: no stability promise.
"""

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._core.api import resources as r
from ansible_collections.clusteredge.calico.plugins.module_utils._core.errors import ApiError, CalicoModuleError
from ansible_collections.clusteredge.calico.plugins.module_utils._core.facts import read_snapshot
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model import cluster as info
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.hostendpoint import HostEndpointAdapter

REQUIRED_KINDS = (r.HOSTENDPOINTS, r.GLOBALNETWORKPOLICIES, r.FELIXCONFIGURATIONS)
SNAPSHOT_FIELDS = ("felix_configs", "kube_controllers_config", "hostendpoints", "nodes")


def run(module, connect):
    given_port = module.params.get("api_server_port")
    if given_port is not None and not 1 <= given_port <= 65535:
        raise CalicoModuleError("api_server_port: %s is not a port number (1 to 65535); leave it out to read it from the "
                                "default/kubernetes Service" % given_port)
    client = connect()
    try:
        profile = client.require_calico_api(list(REQUIRED_KINDS))
    except ApiError as exc:
        if exc.status not in (0, 404) and "does not serve" not in str(exc):
            raise
        return dict(changed=False, calico_api_served=False, calico_api_message=str(exc), api_requests=client.request_counts)
    cluster = read_snapshot(client, SNAPSHOT_FIELDS + (() if given_port else ("api_server_service",)), profile=profile)
    port = given_port or info.api_server_port(cluster.api_server_service)
    failsafes = info.effective_failsafes(cluster.felix_configs, cluster.nodes)
    return dict(
        changed=False,
        calico_api_served=True,
        calico_version=profile.reported_version,
        calico=dict(profile.describe(), version_problem=profile.version_problem()),
        failsafes=dict(inbound=failsafes["inbound"][0], inbound_source=failsafes["inbound"][1],
                       outbound=failsafes["outbound"][0], outbound_source=failsafes["outbound"][1],
                       per_node=dict((node, dict(inbound=cfg["inbound"][0], inbound_source=cfg["inbound"][1],
                                                 outbound=cfg["outbound"][0], outbound_source=cfg["outbound"][1]))
                                     for node, cfg in failsafes["per_node"].items())),
        failsafe_gaps=info.failsafe_gaps(failsafes, port),
        api_server_port=port,
        auto_host_endpoints=info.auto_host_endpoints(cluster.kube_controllers_config, cluster.hostendpoints),
        nodes=info.node_summaries(cluster.nodes),
        hostendpoints=[HostEndpointAdapter.view(h) for h in sorted(cluster.hostendpoints, key=lambda h: h["metadata"]["name"])],
        api_requests=client.request_counts,
    )
