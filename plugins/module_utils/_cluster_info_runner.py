# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Runs calico_cluster_info: a handful of reads, one per kind, then the pure analysis in _cluster_info.

Private to this collection: no stability promise.
"""

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils import _cluster_info as info
from ansible_collections.clusteredge.calico.plugins.module_utils import _resources as r
from ansible_collections.clusteredge.calico.plugins.module_utils._client import ApiError, CalicoClient
from ansible_collections.clusteredge.calico.plugins.module_utils._runner import build_plain_module


def _api_server_port(client, given):
    if given:
        return given
    service = client.get(r.SERVICES, "kubernetes", namespace="default")
    for port in ((service or {}).get("spec") or {}).get("ports") or []:
        target = port.get("targetPort")
        if isinstance(target, int):
            return target
        if isinstance(target, str) and target.isdigit():
            return int(target)
    return info.DEFAULT_API_SERVER_PORT


def run_cluster_info():
    module = build_plain_module(dict(api_server_port=dict(type="int")))
    given_port = module.params.get("api_server_port")
    if given_port is not None and not 1 <= given_port <= 65535:
        module.fail_json(msg="api_server_port: %s is not a port number (1 to 65535); leave it out to read it from the "
                             "default/kubernetes Service" % given_port)
    client = CalicoClient.from_module(module)
    try:
        try:
            profile = client.require_calico_api([r.HOSTENDPOINTS, r.GLOBALNETWORKPOLICIES, r.FELIXCONFIGURATIONS])
        except ApiError as exc:
            if exc.status not in (0, 404) and "does not serve" not in str(exc):
                raise
            module.exit_json(changed=False, calico_api_served=False, calico_api_message=str(exc), api_requests=client.request_counts)
        felix = client.list(r.FELIXCONFIGURATIONS)
        kcc = client.get(r.KUBECONTROLLERSCONFIGURATIONS, "default")
        hostendpoints = client.list(r.HOSTENDPOINTS)
        nodes = client.list(r.NODES)
        port = _api_server_port(client, module.params.get("api_server_port"))
    except ApiError as exc:
        module.fail_json(msg=str(exc), api_status=exc.status, api_requests=client.request_counts)
    failsafes = info.effective_failsafes(felix, nodes)
    module.exit_json(
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
        auto_host_endpoints=info.auto_host_endpoints(kcc, hostendpoints),
        nodes=info.node_summaries(nodes),
        api_requests=client.request_counts,
    )
