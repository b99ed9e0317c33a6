"""The safety invariant of an interrupted run: no HostEndpoint without the policies that keep its node usable.

Checked with the collection's own selector parser and flow evaluator: for every HostEndpoint present, the
host-traffic policy exists and selects it, and SSH to the node, the API server's calls to the node's kubelet and
the node's own calls to the API server all get through.
"""

from __future__ import annotations

import os
import sys

from faultmatrix.scenario import SERVICE_CIDR_V4, SERVICE_CIDR_V6

_COLLECTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), ".build", "collections")
if os.path.isdir(os.path.join(_COLLECTIONS, "ansible_collections")) and _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

# pylint: disable-next=wrong-import-position
from ansible_collections.clusteredge.calico.plugins.module_utils._core.dataplane import walk as walker  # noqa: E402
from ansible_collections.clusteredge.calico.plugins.module_utils._core.dataplane import world as world_types  # noqa: E402
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model import selector as sel  # noqa: E402

HOST_TRAFFIC_POLICY = "clusteredge-allow-traffic-hostendpoints"  # _exposure.render: "<name_prefix>-allow-traffic-hostendpoints"
ADMIN = "203.0.113.10"        # an operator's workstation, off-cluster
API_SERVER = "10.0.0.2"       # a control-plane address outside the nodes' own
POD_CIDRS = ["192.168.0.0/16", "fd00:192:168::/64"]


def node_flows(hep):
    """(what, Flow) a node must keep: SSH in, the API server to its kubelet, its own calls to the API server."""
    node = hep["spec"]["node"]
    interface = hep["spec"].get("interfaceName") or "*"
    address = (hep["spec"].get("expectedIPs") or ["127.0.0.1"])[0]
    return [
        ("SSH to %s" % node, world_types.Flow(ADMIN, address, 22, ingress_node=node, ingress_interface=interface)),
        ("API server to the kubelet of %s" % node, world_types.Flow(API_SERVER, address, 10250, ingress_node=node, ingress_interface=interface)),
        ("%s to the API server" % node, world_types.Flow(address, API_SERVER, 6443, ingress_node=node, ingress_interface=interface,
                                                         source_is_host=True)),
    ]


def world_of(api):
    return world_types.World(hostendpoints=api.objects("HostEndpoint"), global_policies=api.objects("GlobalNetworkPolicy"),
                             network_policies=api.objects("NetworkPolicy"), global_network_sets=api.objects("GlobalNetworkSet"),
                             felix_configs=api.objects("FelixConfiguration"), services=api.objects("Service"),
                             nodes=api.objects("Node"), pods=api.objects("Pod"), namespaces=api.objects("Namespace"),
                             pod_cidrs=POD_CIDRS, service_cidrs=[SERVICE_CIDR_V4, SERVICE_CIDR_V6])


def unprotected(api):
    """Problems with the invariant, one line each (empty: every HostEndpoint's node is still usable)."""
    policies = dict((p["metadata"]["name"], p) for p in api.objects("GlobalNetworkPolicy"))
    host_traffic = policies.get(HOST_TRAFFIC_POLICY)
    world = world_of(api)
    problems = []
    for hep in api.objects("HostEndpoint"):
        name = hep["metadata"]["name"]
        if host_traffic is None:
            problems.append("HostEndpoint %s exists without the host-traffic policy %s" % (name, HOST_TRAFFIC_POLICY))
        elif not sel.parse(host_traffic["spec"]["selector"]).matches(hep["metadata"].get("labels") or {}):
            problems.append("the host-traffic policy does not select HostEndpoint %s" % name)
        for what, flow in node_flows(hep):
            verdict = walker.evaluate(world, flow)
            if not verdict.allowed:
                problems.append("%s (HostEndpoint %s) is denied: %s" % (what, name, verdict.decided_by))
    return problems
