# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The flows that must hold after an exposure, with the verdict each must get (pure).

Private to this collection: no stability promise. The role's verify step feeds them to calico_flow_check.
"""

from __future__ import annotations

import ipaddress

# Clients that no sane source list contains (documentation ranges, RFC 5737 and RFC 3849).
UNLISTED_CLIENT = {4: "198.51.100.7", 6: "2001:db8:ffff::7"}
# The node's own services an operator and the cluster need: SSH, kubelet, BGP.
NODE_PORTS = ((22, "ssh"), (10250, "kubelet"), (179, "BGP"))
# An outside address a node must reach on a port no failsafe covers (an image registry, a package mirror).
OUTSIDE = {4: "203.0.113.50", 6: "2001:db8:ffff::50"}


def first_client(cidr):
    """An address inside a source network: the first usable one."""
    network = ipaddress.ip_network(cidr)
    if network.num_addresses == 1:
        return str(network.network_address)
    return str(network.network_address + 1)


def _family(ip):
    return ipaddress.ip_address(ip).version


def _inside(ip, cidrs):
    address = ipaddress.ip_address(ip)
    return any(address.version == ipaddress.ip_network(c).version and address in ipaddress.ip_network(c) for c in cidrs)


def unexposed_addresses(service_ranges, exposures):
    """One address per service range that no exposure uses: it must stay unreachable from outside."""
    exposed = set(ip for e in exposures for ip in e["cluster_ips"])
    found = []
    for cidr in service_ranges:
        for address in ipaddress.ip_network(cidr).hosts():
            if str(address) not in exposed:
                found.append((str(address), 443))
                break
    return found


def spread(items, count):
    """At most `count` items, evenly spaced and always including the first and the last (all when count is 0)."""
    if not count or count >= len(items):
        return list(items)
    if count == 1:
        return [items[0]]
    step = (len(items) - 1) / (count - 1)
    return [items[int(i * step + 0.5)] for i in range(count)]


def intent_flows(exposures, nodes, other_cluster_ips=(), api_server_port=6443, interfaces=None, nodes_per_service=0):
    """Flows with expectations: every listed source reaches its Service through every node on every exposed port;
    an unlisted client reaches none of them, nor another cluster IP; in-cluster client pods reach each Service and its
    pods directly; the nodes' SSH, kubelet, BGP and API server answer from outside; each node still sends: to an
    outside address on a port no failsafe covers, and to the next node's kubelet.

    `exposures`: the `exposures` result of calico_clusterip_exposure. `nodes`: dicts with `name` and `internal_ips`
    (calico_cluster_info's `nodes`), the nodes the traffic may enter through. `interfaces`: node name -> the interface
    the traffic enters through (the one its HostEndpoint covers); eth0 when not given. `nodes_per_service`: Service
    flows enter through at most that many nodes, spread over the list (0: every node); each node's own flows are
    always checked. The role labels every node's HostEndpoints alike, so the nodes a Service flow may enter through
    differ only in where the backends run, and each flow already tries a local and a remote backend.
    """
    flows = []
    node_names = spread([n["name"] for n in nodes], nodes_per_service)
    interfaces = interfaces or {}
    for exposure in exposures:
        key = "%s/%s" % (exposure["namespace"], exposure["name"])
        for cluster_ip in exposure["cluster_ips"]:
            sources = [s for s in exposure["sources"] if ipaddress.ip_network(s).version == _family(cluster_ip)]
            for port in exposure["ports"]:
                for node in node_names:
                    for source in sources:
                        client = first_client(source)
                        flows.append(dict(name="%s: listed %s via %s to %s:%s/%s" % (key, client, node, cluster_ip, port["port"], port["protocol"]),
                                          source=client, destination=cluster_ip, port=port["port"], protocol=port["protocol"],
                                          ingress_node=node, expect="allow"))
                    stranger = UNLISTED_CLIENT[_family(cluster_ip)]
                    if not _inside(stranger, exposure["sources"]):
                        flows.append(dict(name="%s: unlisted %s via %s to %s:%s/%s" % (key, stranger, node, cluster_ip, port["port"], port["protocol"]),
                                          source=stranger, destination=cluster_ip, port=port["port"], protocol=port["protocol"],
                                          ingress_node=node, expect="deny"))
        if exposure.get("allow_cluster_clients", True):
            for port in exposure["ports"]:
                flows.append(dict(name="%s: in-cluster client pod to %s:%s/%s" % (key, exposure["cluster_ips"][0], port["port"], port["protocol"]),
                                  source="pod:any", destination=exposure["cluster_ips"][0], port=port["port"], protocol=port["protocol"],
                                  ingress_node=node_names[0], expect="allow"))
                flows.append(dict(name="%s: pod to pod on the target port of %s/%s" % (key, port["port"], port["protocol"]),
                                  source="pod:any", destination="pod:" + key, port=port["port"], protocol=port["protocol"],
                                  ingress_node=node_names[0], expect="allow"))
    for other, port in other_cluster_ips:
        for node in node_names:
            flows.append(dict(name="another cluster IP: unlisted client via %s to %s:%s/TCP" % (node, other, port),
                              source=UNLISTED_CLIENT[_family(other)], destination=other, port=port, protocol="TCP",
                              ingress_node=node, expect="deny"))
    for node in nodes:
        for address in node.get("internal_ips") or []:
            for port, label in NODE_PORTS + ((api_server_port, "API server"),):
                flows.append(dict(name="node %s %s (%s:%s/TCP)" % (node["name"], label, address, port),
                                  source=UNLISTED_CLIENT[_family(address)], destination=address, port=port, protocol="TCP",
                                  ingress_node=node["name"], expect="allow"))
    for position, node in enumerate(nodes):
        peer = nodes[(position + 1) % len(nodes)]
        for address in node.get("internal_ips") or []:
            family = _family(address)
            flows.append(dict(name="node %s egress to %s:443/TCP" % (node["name"], OUTSIDE[family]), source="node",
                              destination=OUTSIDE[family], port=443, protocol="TCP", ingress_node=node["name"], expect="allow"))
            peer_addresses = [a for a in peer.get("internal_ips") or [] if _family(a) == family]
            if peer is not node and peer_addresses:
                flows.append(dict(name="node %s to the kubelet of %s (%s:10250/TCP)" % (node["name"], peer["name"], peer_addresses[0]),
                                  source="node", destination=peer_addresses[0], port=10250, protocol="TCP", ingress_node=node["name"],
                                  expect="allow"))
    for item in flows:
        item["interface"] = interfaces.get(item["ingress_node"], "eth0")
    return flows
