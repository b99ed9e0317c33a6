# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Kubernetes Nodes as Calico sees them: every address a node's traffic can carry, and the HostEndpoints covering them.

Private to this collection: no stability promise. Pure: no I/O.
"""

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model import selector as selectors
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model import validation as v


# -- node HostEndpoints: do their expectedIPs hold every address the nodes' traffic can carry? ------

NODE_ADDRESS_ANNOTATIONS = (
    "projectcalico.org/IPv4Address",
    "projectcalico.org/IPv6Address",
    "projectcalico.org/IPv4IPIPTunnelAddr",
    "projectcalico.org/IPv4VXLANTunnelAddr",
    "projectcalico.org/IPv6VXLANTunnelAddr",
    "projectcalico.org/IPv4WireguardInterfaceAddr",
    "projectcalico.org/IPv6WireguardInterfaceAddr",
)


def node_addresses(node):
    """InternalIPs plus the BGP and tunnel addresses Calico records on the Node (SPEC §1.5)."""
    found = []
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP" and address.get("address"):
            found.append(address["address"])
    annotations = (node.get("metadata") or {}).get("annotations") or {}
    for key in NODE_ADDRESS_ANNOTATIONS:
        value = annotations.get(key)
        if value:
            found.append(value.split("/")[0])
    result = []
    for ip in found:
        if v.check_ip_address(ip) is None and v.canonical_ip(ip) not in result:
            result.append(v.canonical_ip(ip))
    return result


def node_report(nodes, hostendpoints, node_selector):
    """Per Kubernetes node: the selected HostEndpoints and the node addresses their expectedIPs miss."""
    selector = selectors.parse(node_selector)
    selected = [h for h in hostendpoints if selector.matches(((h.get("metadata") or {}).get("labels") or {}))]
    report = []
    for node in sorted(nodes, key=lambda n: n["metadata"]["name"]):
        name = node["metadata"]["name"]
        heps = [h for h in selected if (h.get("spec") or {}).get("node") == name]
        listed = set()
        for hep in heps:
            listed.update(v.canonical_ip(ip) for ip in (hep.get("spec") or {}).get("expectedIPs") or [] if v.check_ip_address(ip) is None)
        addresses = node_addresses(node)
        report.append(dict(node=name, hostendpoints=sorted(h["metadata"]["name"] for h in heps), addresses=addresses,
                           missing_expected_ips=[ip for ip in addresses if heps and ip not in listed]))
    return report


def coverage_warnings(report):
    """What a node report tells users: nodes left unfiltered, and HostEndpoints whose expectedIPs miss node addresses."""
    warnings = []
    uncovered = [entry["node"] for entry in report if not entry["hostendpoints"]]
    if uncovered and len(uncovered) < len(report):
        warnings.append("nodes %s have no HostEndpoint that node_selector selects: cluster-IP traffic that the upstream router "
                        "sends to them is not filtered by the host policies" % ", ".join(uncovered))
    for entry in report:
        if entry["missing_expected_ips"]:
            warnings.append("HostEndpoints %s of node %s lack expectedIPs %s: pod policy rules that select nodes will not match "
                            "traffic the node forwards with those addresses"
                            % (", ".join(entry["hostendpoints"]), entry["node"], ", ".join(entry["missing_expected_ips"])))
    return warnings
