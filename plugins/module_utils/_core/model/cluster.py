# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a safe rollout needs to know about a cluster before any HostEndpoint exists (pure, no I/O).

Private to this collection: no stability promise.
"""

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._core.api.profile import DEFAULT_FAILSAFE_INBOUND, DEFAULT_FAILSAFE_OUTBOUND
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model import selector as _selector
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.nodes import node_addresses
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.ownership import is_auto_created

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


def _created(config):
    return (config.get("metadata") or {}).get("creationTimestamp") or ""


def _selector_scoped(felix_configs):
    """FelixConfigurations other than default and node.<name> that select nodes, oldest first (the oldest match wins)."""
    scoped = []
    for config in felix_configs:
        name = (config.get("metadata") or {}).get("name") or ""
        selector = (config.get("spec") or {}).get("nodeSelector")
        if name == "default" or name.startswith("node.") or not selector:
            continue
        try:
            scoped.append((_created(config), name, _selector.parse(selector), config.get("spec") or {}))
        except _selector.SelectorError:
            continue  # Felix ignores a configuration whose selector does not parse
    return sorted(scoped, key=lambda entry: (entry[0], entry[1]))


def effective_failsafes(felix_configs, nodes):
    """Cluster-wide and per-node failsafe ports, field by field as Felix layers its configuration.

    `nodes` are Node objects (or bare names, which no selector can match). Per node, `node.<name>` wins over a
    FelixConfiguration that selects the node with spec.nodeSelector (the oldest such, when several do), which wins
    over `default` (Calico's FelixConfiguration reference; selector-scoped objects exist where the profile says so).
    """
    by_name = dict((c["metadata"]["name"], c.get("spec") or {}) for c in felix_configs)
    default_spec = by_name.get("default", {})
    scoped = _selector_scoped(felix_configs)

    def pick(spec, field, fallback, origin):
        if field in spec and spec[field] is not None:
            return _normalise(spec[field]), origin
        return fallback

    inbound = pick(default_spec, "failsafeInboundHostPorts", (_parse_default(DEFAULT_FAILSAFE_INBOUND), "Felix defaults"),
                   "FelixConfiguration default")
    outbound = pick(default_spec, "failsafeOutboundHostPorts", (_parse_default(DEFAULT_FAILSAFE_OUTBOUND), "Felix defaults"),
                    "FelixConfiguration default")
    per_node = {}
    for node in nodes:
        name = node if isinstance(node, str) else node["metadata"]["name"]
        labels = {} if isinstance(node, str) else (node.get("metadata") or {}).get("labels") or {}
        node_in, node_out = inbound, outbound
        if scoped and not isinstance(node, str):
            match = next(((config_name, spec) for _created_at, config_name, selector, spec in scoped if selector.matches(labels)), None)
            if match is not None:
                origin = "FelixConfiguration %s (selects the node)" % match[0]
                node_in = pick(match[1], "failsafeInboundHostPorts", node_in, origin)
                node_out = pick(match[1], "failsafeOutboundHostPorts", node_out, origin)
        spec = by_name.get("node.%s" % name)
        if spec is not None:
            node_in = pick(spec, "failsafeInboundHostPorts", node_in, "FelixConfiguration node.%s" % name)
            node_out = pick(spec, "failsafeOutboundHostPorts", node_out, "FelixConfiguration node.%s" % name)
        if (node_in, node_out) != (inbound, outbound):
            per_node[name] = dict(inbound=node_in, outbound=node_out)
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


def _auto_style(hep):
    interface = (hep.get("spec") or {}).get("interfaceName") or ""
    if interface == "*":
        return "all-interfaces"
    return "per-interface" if interface else "template"


def _hostendpoint_settings(kcc):
    """(autoCreate, createDefaultHostEndpoint, templates, where it was read), the running config winning over the spec."""
    if kcc is None:
        return "Disabled", "Enabled", [], "no KubeControllersConfiguration default (Calico's default)"
    running = (((kcc.get("status") or {}).get("runningConfig") or {}).get("controllers") or {}).get("node")
    spec = ((kcc.get("spec") or {}).get("controllers") or {}).get("node")
    if running is not None:
        node, origin = running, "status.runningConfig"
    elif spec is not None:
        node, origin = spec, "spec"
    else:
        return "Disabled", "Enabled", [], "node controller not enabled"
    settings = node.get("hostEndpoint") or {}
    return (settings.get("autoCreate") or "Disabled", settings.get("createDefaultHostEndpoint") or "Enabled",
            list(settings.get("templates") or []), origin)


def _competing(hostendpoints):
    """Automatic HostEndpoints bound to the same interface as one of the others (same interface name, or an expected
    IP in common when the automatic one has no interface name), and which of the two Felix uses: one HostEndpoint per
    interface, the first by name (Calico's host endpoint documentation)."""
    found = []
    auto_by_node = {}  # one pass over the automatic ones, then a lookup per node: linear in the HostEndpoints
    for hep in hostendpoints:
        if is_auto_created(hep) and _auto_style(hep) != "all-interfaces":
            auto_by_node.setdefault((hep.get("spec") or {}).get("node"), []).append(hep)
    managed = [h for h in hostendpoints if not is_auto_created(h) and ((h.get("spec") or {}).get("interfaceName") or "") != "*"]
    for ours in managed:
        spec = ours.get("spec") or {}
        for other in auto_by_node.get(spec.get("node"), []):
            theirs = other.get("spec") or {}
            same_name = theirs.get("interfaceName") and theirs.get("interfaceName") == spec.get("interfaceName")
            shared_ip = not theirs.get("interfaceName") and set(theirs.get("expectedIPs") or []) & set(spec.get("expectedIPs") or [])
            if same_name or shared_ip:
                names = sorted((ours["metadata"]["name"], other["metadata"]["name"]))
                found.append(dict(node=spec.get("node"), hostendpoint=ours["metadata"]["name"], automatic=other["metadata"]["name"],
                                  active=names[0]))
    return found


def auto_host_endpoints(kcc, hostendpoints):
    """What calico-kube-controllers creates (the effective value winning over the spec) and how it meets ours.

    Besides the one '*' HostEndpoint per node of every release, template HostEndpoints (KubeControllersConfiguration
    templates: bound by IP, or one per matching interface with interfacePattern) exist on releases that have them.
    """
    state, default_hep, templates, origin = _hostendpoint_settings(kcc)
    existing = sorted(h["metadata"]["name"] for h in hostendpoints if is_auto_created(h))
    styles = dict((style, sorted(h["metadata"]["name"] for h in hostendpoints if is_auto_created(h) and _auto_style(h) == style))
                  for style in ("all-interfaces", "template", "per-interface"))
    competing = _competing(hostendpoints)
    notes = []
    if state == "Enabled" or existing:
        if default_hep != "Disabled" or styles["all-interfaces"]:
            notes.append("calico-kube-controllers keeps one '*' HostEndpoint per node with the projectcalico-default-allow "
                         "profile (%d now). This collection never touches them and its policies do not select them; on an "
                         "interface that one of this collection's named HostEndpoints claims, the named one applies, and the "
                         "automatic one governs every other interface (default allow)." % len(styles["all-interfaces"]))
        if templates or styles["template"] or styles["per-interface"]:
            notes.append("KubeControllersConfiguration templates (%d) create HostEndpoints bound to one interface (%d by "
                         "address, %d per interface) with the projectcalico-default-allow profile: where one claims the "
                         "interface of a HostEndpoint of this collection, Felix uses the one whose name sorts first, and "
                         "an automatic one there leaves that interface open to every source. Give the template's "
                         "interfaces no HostEndpoint of this collection, or exclude them from the template."
                         % (len(templates), len(styles["template"]), len(styles["per-interface"])))
        for entry in competing:
            notes.append("node %s: the automatic HostEndpoint %s and %s claim the same interface; Felix uses %s%s"
                         % (entry["node"], entry["automatic"], entry["hostendpoint"], entry["active"],
                            " (the cluster-IP policies do not apply there)" if entry["active"] == entry["automatic"] else ""))
    else:
        notes.append("automatic HostEndpoints are disabled: only this collection's HostEndpoints will be enforced")
    return dict(auto_create=state, source=origin, existing=existing, default_hostendpoint=default_hep, templates=templates,
                styles=styles, competing=competing, interaction=" ".join(notes))


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


def failsafe_ports(felix_configs, nodes):
    """(protocol, port) -> where it comes from, for every inbound failsafe on any node (a port open on one node is enough)."""
    failsafes = effective_failsafes(felix_configs, nodes)
    ports = {}
    for entries, origin in [failsafes["inbound"]] + [cfg["inbound"] for cfg in failsafes["per_node"].values()]:
        for entry in entries:
            ports.setdefault((entry["protocol"], entry["port"]), origin)
    return ports


def api_server_port(kubernetes_service):
    """The port the API server listens on, from the default/kubernetes Service's targetPort (6443 when unknown)."""
    for port in ((kubernetes_service or {}).get("spec") or {}).get("ports") or []:
        target = port.get("targetPort")
        if isinstance(target, int):
            return target
        if isinstance(target, str) and target.isdigit():
            return int(target)
    return DEFAULT_API_SERVER_PORT
