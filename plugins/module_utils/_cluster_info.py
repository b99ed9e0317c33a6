# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a safe rollout needs to know about a cluster before any HostEndpoint exists (pure, no I/O).

Private to this collection: no stability promise.
"""

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._exposure import node_addresses
from ansible_collections.clusteredge.calico.plugins.module_utils._state import is_auto_created

# Felix 3.28's effective defaults (felix/config/config_params.go, SPEC §6).
DEFAULT_FAILSAFE_INBOUND = ("tcp:22", "udp:68", "tcp:179", "tcp:2379", "tcp:2380", "tcp:5473", "tcp:6443", "tcp:6666", "tcp:6667")
DEFAULT_FAILSAFE_OUTBOUND = ("udp:53", "udp:67", "tcp:179", "tcp:2379", "tcp:2380", "tcp:5473", "tcp:6443", "tcp:6666", "tcp:6667")
SSH_PORT = 22
DEFAULT_API_SERVER_PORT = 6443


def _parse_default(entries):
    result = []
    for entry in entries:
        protocol, port = entry.split(":")
        result.append({"protocol": protocol, "port": int(port), "net": ""})
    return result


def _normalise(entries):
    return [{"protocol": str(e.get("protocol") or "tcp").lower(), "port": int(e.get("port")), "net": e.get("net") or ""}
            for e in entries or []]


def effective_failsafes(felix_configs, node_names):
    """Cluster-wide and per-node failsafe ports; a node.<name> FelixConfiguration overrides the default one."""
    by_name = dict((c["metadata"]["name"], c.get("spec") or {}) for c in felix_configs)
    default_spec = by_name.get("default", {})

    def pick(spec, field, fallback, origin):
        if field in spec and spec[field] is not None:
            return _normalise(spec[field]), origin
        return fallback

    inbound = pick(default_spec, "failsafeInboundHostPorts", (_parse_default(DEFAULT_FAILSAFE_INBOUND), "Felix defaults"),
                   "FelixConfiguration default")
    outbound = pick(default_spec, "failsafeOutboundHostPorts", (_parse_default(DEFAULT_FAILSAFE_OUTBOUND), "Felix defaults"),
                    "FelixConfiguration default")
    per_node = {}
    for node in node_names:
        spec = by_name.get("node.%s" % node)
        if spec is None:
            continue
        per_node[node] = dict(
            inbound=pick(spec, "failsafeInboundHostPorts", inbound, "FelixConfiguration node.%s" % node),
            outbound=pick(spec, "failsafeOutboundHostPorts", outbound, "FelixConfiguration node.%s" % node),
        )
    return dict(inbound=inbound, outbound=outbound, per_node=per_node)


def covers(ports, protocol, port):
    """True when an inbound failsafe admits `protocol`/`port` from anywhere (a net restriction may not cover operators)."""
    return any(p["protocol"] == protocol and p["port"] == port and p["net"] in ("", "0.0.0.0/0", "::/0") for p in ports)


def failsafe_gaps(failsafes, api_server_port):
    """Human-readable gaps: SSH or the API server no longer covered by inbound failsafes, cluster-wide or per node."""
    gaps = []
    scopes = [("cluster-wide (%s)" % failsafes["inbound"][1], failsafes["inbound"][0])]
    scopes += [("on node %s (%s)" % (node, cfg["inbound"][1]), cfg["inbound"][0]) for node, cfg in sorted(failsafes["per_node"].items())]
    for where, ports in scopes:
        for label, port in (("SSH", SSH_PORT), ("the API server", api_server_port)):
            if not covers(ports, "tcp", port):
                gaps.append("inbound failsafe ports %s do not cover %s (tcp:%d)" % (where, label, port))
    return gaps


def auto_host_endpoints(kcc, hostendpoints):
    """Whether calico-kube-controllers creates '*' HostEndpoints, the effective value winning over the spec."""
    if kcc is None:
        state, origin = "Disabled", "no KubeControllersConfiguration default (Calico's default)"
    else:
        running = (((kcc.get("status") or {}).get("runningConfig") or {}).get("controllers") or {}).get("node")
        spec = ((kcc.get("spec") or {}).get("controllers") or {}).get("node")
        if running is not None:
            state, origin = ((running.get("hostEndpoint") or {}).get("autoCreate") or "Disabled"), "status.runningConfig"
        elif spec is not None:
            state, origin = ((spec.get("hostEndpoint") or {}).get("autoCreate") or "Disabled"), "spec"
        else:
            state, origin = "Disabled", "node controller not enabled"
    existing = sorted(h["metadata"]["name"] for h in hostendpoints if is_auto_created(h))
    if state == "Enabled" or existing:
        note = ("calico-kube-controllers keeps one '*' HostEndpoint per node with the projectcalico-default-allow profile "
                "(%d now). This collection never touches them and its policies do not select them; on an interface that "
                "one of this collection's named HostEndpoints claims, the named one applies, and the automatic one "
                "governs every other interface (default allow)." % len(existing))
    else:
        note = "automatic HostEndpoints are disabled: only this collection's HostEndpoints will be enforced"
    return dict(auto_create=state, source=origin, existing=existing, interaction=note)


def node_summaries(nodes):
    result = []
    for node in sorted(nodes, key=lambda n: n["metadata"]["name"]):
        internal = [a["address"] for a in (node.get("status") or {}).get("addresses") or [] if a.get("type") == "InternalIP"]
        hostnames = [a["address"] for a in (node.get("status") or {}).get("addresses") or [] if a.get("type") == "Hostname"]
        all_addresses = node_addresses(node)
        result.append(dict(name=node["metadata"]["name"], internal_ips=internal, hostnames=hostnames, addresses=all_addresses,
                           tunnel_addresses=[a for a in all_addresses if a not in internal],
                           labels=(node.get("metadata") or {}).get("labels") or {}))
    return result
