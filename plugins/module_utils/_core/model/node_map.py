# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Inventory hosts -> Kubernetes nodes -> HostEndpoint config items, from gathered network facts (pure).

Private to this collection: no stability promise. Used by the `node_hostendpoints` filter of the
clusterip_exposure role, on the controller.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model import validation as v

try:
    import jmespath

    HAS_JMESPATH = True
except ImportError:
    HAS_JMESPATH = False


# A HostEndpoint on every interface of the node (SPEC 1.3): lo, tunnels and the host side of pod veths included.
ALL_INTERFACES = "*"
# On every HostEndpoint the role writes: which host it came from and with which settings, so that the next run can
# tell, from the cluster alone, whether that host needs its network facts again.
DISCOVERY_ANNOTATION = "clusteredge.calico/discovered-from"
# changed: facts only where the cluster cannot already answer (the fact cache counts); always: every host, every run;
# controller: no host but the canary, each HostEndpoint derived from its Node object and the interface given once.
DISCOVERY_MODES = ("changed", "always", "controller")
# The facts the mapping reads; a host whose cached facts lack one of them gathers again.
NEEDED_FACTS = ("ansible_interfaces", "ansible_all_ipv4_addresses")


def _facts_key(interface):
    # Ansible stores per-interface facts under ansible_<name> with '-' and '.' turned into '_'.
    return "ansible_" + re.sub(r"[^A-Za-z0-9_]", "_", interface)


def host_addresses(facts):
    found = list(facts.get("ansible_all_ipv4_addresses") or []) + list(facts.get("ansible_all_ipv6_addresses") or [])
    return [v.canonical_ip(ip) for ip in found if v.check_ip_address(ip) is None]


def interface_addresses(facts, interface):
    """The interface's IPv4 addresses (primary and secondaries) and its global IPv6 addresses."""
    data = facts.get(_facts_key(interface)) or {}
    found = []
    for entry in [data.get("ipv4")] + list(data.get("ipv4_secondaries") or []):
        if isinstance(entry, dict) and entry.get("address"):
            found.append(entry["address"])
    for entry in data.get("ipv6") or []:
        if isinstance(entry, dict) and entry.get("address") and entry.get("scope", "global") == "global":
            found.append(entry["address"])
    result = []
    for ip in found:
        if v.check_ip_address(ip) is None and v.canonical_ip(ip) not in result:
            result.append(v.canonical_ip(ip))
    return result


def choose_interfaces(host, facts, explicit, query):
    """Explicit list > JMESPath query over the facts > the interface of the default route. Returns (names, how, error)."""
    if explicit:
        names, how = [explicit] if isinstance(explicit, str) else list(explicit), "clusterip_exposure_interfaces"
    elif query:
        if not HAS_JMESPATH:
            return None, None, "the jmespath Python library is needed for clusterip_exposure_interface_query"
        try:
            found = jmespath.search(query, facts)
        except jmespath.exceptions.JMESPathError as exc:
            return None, None, "clusterip_exposure_interface_query %r is not valid JMESPath: %s" % (query, exc)
        if found is not None and not isinstance(found, (str, list)):
            # A mapping would otherwise be read as its keys, a number would not be iterable.
            kind = "a mapping" if isinstance(found, Mapping) else "a number" if isinstance(found, (int, float)) else type(found).__name__
            return None, None, ("clusterip_exposure_interface_query %r must return an interface name or a list of names; on %s it "
                                "returns %s" % (query, host, kind))
        names = [found] if isinstance(found, str) else [n for n in found or [] if isinstance(n, str)]
        how = "clusterip_exposure_interface_query"
        if not names:
            return None, None, "clusterip_exposure_interface_query %r selects no interface on %s" % (query, host)
    else:
        default = (facts.get("ansible_default_ipv4") or {}).get("interface") or (facts.get("ansible_default_ipv6") or {}).get("interface")
        if not default:
            return None, None, ("%s has no default route, so its traffic interface is unknown: set clusterip_exposure_interfaces "
                                "or clusterip_exposure_interface_query for it" % host)
        names, how = [default], "default route"
    if ALL_INTERFACES in names:
        if len(names) > 1:
            return None, None, ("%s: interface '*' already covers every interface of the host; list it alone, or name the "
                                "interfaces instead" % host)
        return names, how, None
    existing = list(facts.get("ansible_interfaces") or [])
    missing = [n for n in names if n not in existing]
    if missing:
        return None, None, "interface %s does not exist on %s (it has: %s)" % (", ".join(missing), host, ", ".join(sorted(existing)))
    return names, how, None


def _named_node(host, node_name, by_name):
    """The node clusterip_exposure_node_name names. Returns (node, how, error)."""
    if node_name in by_name:
        return by_name[node_name], "clusterip_exposure_node_name", None
    return None, None, "%s: clusterip_exposure_node_name %r is not a Kubernetes node" % (host, node_name)


def map_host_to_node(host, facts, explicit_node, nodes):
    """Explicit node name > a node sharing an address with the host > a node named like the host. Returns (node, how, error)."""
    by_name = dict((n["name"], n) for n in nodes)
    if explicit_node:
        return _named_node(host, explicit_node, by_name)
    mine = set(host_addresses(facts))
    matches = [n for n in nodes if mine & set(v.canonical_ip(a) for a in n.get("internal_ips") or [])]
    if len(matches) > 1:
        return None, None, ("%s shares addresses with several nodes (%s): set clusterip_exposure_node_name for it"
                            % (host, ", ".join(n["name"] for n in matches)))
    if matches:
        return matches[0], "address", None
    for name in (facts.get("ansible_hostname"), facts.get("ansible_fqdn"), facts.get("ansible_nodename"), host):
        if name and name in by_name:
            return by_name[name], "hostname", None
    return None, None, ("%s maps to no Kubernetes node: none has its addresses (%s) or its hostname (%s); set "
                        "clusterip_exposure_node_name for it" % (host, ", ".join(sorted(mine)) or "none",
                                                                 facts.get("ansible_hostname") or host))


def hostendpoint_name(node, interface):
    if interface == ALL_INTERFACES:
        # Sorts before kube-controllers' "<node>-auto-hep": of two '*' HostEndpoints on a node Felix uses the first by name.
        return "%s-all-interfaces" % node
    return ("%s-%s" % (node, interface)).lower().replace("_", "-")


def all_interface_addresses(facts):
    """Every address of the host that traffic can be sent to: no loopback, no link-local (what a '*' HostEndpoint expects)."""
    result = []
    for ip in host_addresses(facts):
        address = ipaddress.ip_address(ip)
        if not (address.is_loopback or address.is_link_local) and ip not in result:
            result.append(ip)
    return result


def discovery_record(host, owner):
    """What a HostEndpoint records about the host and settings it was discovered from (canonical JSON)."""
    record = {"owner": owner, "host": host["inventory_hostname"]}
    if host.get("node_name"):
        record["node_name"] = host["node_name"]
    if host.get("interfaces"):
        record["interfaces"] = [host["interfaces"]] if isinstance(host["interfaces"], str) else list(host["interfaces"])
    elif host.get("interface_query"):
        record["interface_query"] = host["interface_query"]
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def _reuse_problem(host, owner, heps, nodes_by_name):
    """Why `host` needs its network facts this run, or None when its live HostEndpoints still hold for it."""
    if not heps:
        return "no HostEndpoint of this owner records it yet"
    if any((h.get("annotations") or {}).get(DISCOVERY_ANNOTATION) != discovery_record(host, owner) for h in heps):
        return "its node or interface settings changed since its HostEndpoints were written"
    node_names = set(h.get("node") for h in heps)
    if len(node_names) != 1 or next(iter(node_names)) not in nodes_by_name:
        return "its HostEndpoints name a node that is gone"
    node = nodes_by_name[next(iter(node_names))]
    listed = [set(v.canonical_ip(ip) for ip in h.get("expected_ips") or [] if v.check_ip_address(ip) is None) for h in heps]
    missing = [ip for ip in node.get("addresses") or [] if not any(v.canonical_ip(ip) in ips for ips in listed)]
    if missing:
        return "node %s has addresses its HostEndpoints do not list (%s)" % (node["name"], ", ".join(missing))
    tunnels = [v.canonical_ip(a) for a in node.get("tunnel_addresses") or []]
    if any(t not in ips for ips in listed for t in tunnels):
        return "node %s has tunnel addresses one of its HostEndpoints does not list" % node["name"]
    return None


def _cached_facts_problem(host, nodes):
    """Why the facts Ansible already holds for `host` (its fact cache, or an earlier gather) cannot stand in for a gather.

    They can when they name the host's interfaces and hold every InternalIP of the node they map to: a node address
    that moved since they were cached is then noticed, as it is for HostEndpoints.
    """
    facts = host.get("facts") or {}
    if not all(key in facts for key in NEEDED_FACTS):
        return "they lack %s" % ", ".join(key for key in NEEDED_FACTS if key not in facts)
    node, _how, error = map_host_to_node(host["inventory_hostname"], facts, host.get("node_name"), nodes)
    if error:
        return error
    _names, _how, error = choose_interfaces(host["inventory_hostname"], facts, host.get("interfaces"), host.get("interface_query"))
    if error:
        return error
    mine = set(host_addresses(facts))
    missing = [ip for ip in (v.canonical_ip(a) for a in node.get("internal_ips") or []) if ip not in mine]
    if missing:
        return "they lack node %s's addresses (%s)" % (node["name"], ", ".join(missing))
    return None


def _short(name):
    return name.split(".", 1)[0]


def node_from_inventory(host, nodes):
    """Without facts: clusterip_exposure_node_name > a node holding ansible_host > a node named like ansible_host or the
    inventory name (or their short names). Returns (node, how, error)."""
    name = host["inventory_hostname"]
    by_name = dict((n["name"], n) for n in nodes)
    if host.get("node_name"):
        return _named_node(name, host["node_name"], by_name)
    target = host.get("ansible_host") or ""
    if target and v.check_ip_address(target) is None:
        matches = [n for n in nodes if v.canonical_ip(target) in set(v.canonical_ip(a) for a in n.get("addresses") or [])]
        if len(matches) > 1:
            return None, None, ("%s: ansible_host %s is an address of several nodes (%s): set clusterip_exposure_node_name "
                                "for it" % (name, target, ", ".join(n["name"] for n in matches)))
        if matches:
            return matches[0], "ansible_host", None
    for candidate, how in ((target, "ansible_host"), (name, "inventory name"), (_short(target), "ansible_host"),
                           (_short(name), "inventory name")):
        if not candidate or v.check_ip_address(candidate) is None:
            continue
        for node in nodes:
            if candidate == node["name"] or candidate in (node.get("hostnames") or []):
                return node, how, None
    return None, None, ("%s maps to no Kubernetes node without its facts: no node is named %s%s; set "
                        "clusterip_exposure_node_name for it" % (name, name, " or holds ansible_host " + target if target else ""))


def derived_hostendpoints(host, nodes, owner):
    """One host's HostEndpoints from its Node object alone (controller discovery). Returns (entry, error)."""
    name = host["inventory_hostname"]
    interfaces = host.get("interfaces")
    interfaces = [interfaces] if isinstance(interfaces, str) else list(interfaces or [])
    if host.get("interface_query") and not interfaces:
        return None, ("%s: clusterip_exposure_interface_query reads the host's facts, which controller discovery does not "
                      "gather: give clusterip_exposure_interfaces instead" % name)
    if len(interfaces) != 1:
        return None, ("%s: controller discovery takes each node's addresses from its Node object and cannot tell which "
                      "interface holds which, so it needs exactly one interface in clusterip_exposure_interfaces (or '*'); "
                      "it has %s; or use clusterip_exposure_discovery: changed" % (name, interfaces or "none"))
    (interface,) = interfaces
    problem = v.check_interface_name(interface)
    if problem:
        return None, "%s: interface %s: %s" % (name, interface, problem)
    node, how, error = node_from_inventory(host, nodes)
    if error:
        return None, error
    addresses = [v.canonical_ip(a) for a in node.get("addresses") or []]
    if not addresses:
        return None, ("%s: node %s reports no address (InternalIP or Calico annotation), so controller discovery has nothing "
                      "to put in its HostEndpoint's expectedIPs" % (name, node["name"]))
    item = dict(name=hostendpoint_name(node["name"], interface), node=node["name"], interface_name=interface,
                expected_ips=addresses, annotations={DISCOVERY_ANNOTATION: discovery_record(host, owner)})
    return dict(host=name, node=node["name"], interfaces=[interface], items=[item], matched_by=how,
                interfaces_from="clusterip_exposure_interfaces"), None


def host_setting_problems(host):
    """What is wrong with the per-host settings of one host (the argument spec checks them only where Ansible validates
    the role host by host)."""
    name = host["inventory_hostname"]
    problems = []
    if host.get("node_name") and not isinstance(host["node_name"], str):
        problems.append("%s: clusterip_exposure_node_name must be a node name, not %r" % (name, host["node_name"]))
    interfaces = host.get("interfaces")
    if interfaces and not (isinstance(interfaces, str) or (isinstance(interfaces, list) and all(isinstance(i, str) for i in interfaces))):
        problems.append("%s: clusterip_exposure_interfaces must be a list of interface names, not %r" % (name, interfaces))
    if host.get("interface_query") and not isinstance(host["interface_query"], str):
        problems.append("%s: clusterip_exposure_interface_query must be a JMESPath expression, not %r" % (name, host["interface_query"]))
    return problems


def discovery_plan(hosts, nodes, live_hostendpoints, owner, mode="changed", canary=None):
    """Which hosts need their network facts, and the HostEndpoints of the others, taken over from the cluster.

    changed: a host is left alone when every HostEndpoint the role wrote for it records the same host, owner and
    settings as now, and together they list every address of its Kubernetes node (InternalIPs, Calico's address and
    tunnel annotations), tunnels on each: then its facts could only say what the cluster already holds. A node whose
    address changed, a host new to the inventory or new settings make the host need facts again; the facts Ansible
    already holds for it (fact cache) do when they hold its node's addresses (`cached`), else it gathers (`discover`).
    always: every host gathers. controller: only the canary gathers (to check the fleet is as its settings say); every
    other host's HostEndpoints are derived from its Node object (`derived_hostendpoints`).
    `hosts`: dicts as for node_hostendpoints, `facts` only where Ansible holds some; `live_hostendpoints`:
    calico_cluster_info's `hostendpoints`. Returns dict(discover=[names], cached=[names], reused=[dict(host, node,
    interfaces, items)], reasons={host: why}, errors=[...]).
    """
    if mode not in DISCOVERY_MODES:
        return dict(discover=[], cached=[], reused=[], reasons={}, errors=[
            "clusterip_exposure_discovery must be one of %s, not %r" % (", ".join(DISCOVERY_MODES), mode)])
    problems = [p for host in hosts for p in host_setting_problems(host)]
    if problems:
        return dict(discover=[], cached=[], reused=[], reasons={}, errors=problems)
    if mode == "controller":
        return _controller_plan(hosts, nodes, owner, canary)
    nodes_by_name = dict((n["name"], n) for n in nodes)
    by_host = {}
    for hep in live_hostendpoints or []:
        raw = (hep.get("annotations") or {}).get(DISCOVERY_ANNOTATION)
        try:
            record = json.loads(raw) if raw else None
        except ValueError:
            record = None
        if isinstance(record, dict) and record.get("owner") == owner and record.get("host"):
            by_host.setdefault(record["host"], []).append(hep)
    discover, cached, reused, reasons = [], [], [], {}
    for host in hosts:
        name = host["inventory_hostname"]
        heps = sorted(by_host.get(name) or [], key=lambda h: h["name"])
        if mode == "always":
            discover.append(name)
            reasons[name] = "clusterip_exposure_discovery is always"
            continue
        reason = _reuse_problem(host, owner, heps, nodes_by_name)
        if not reason:
            reused.append(dict(host=name, node=heps[0]["node"], interfaces=[h["interface_name"] for h in heps],
                               items=[dict(name=h["name"], node=h["node"], interface_name=h["interface_name"],
                                           expected_ips=list(h.get("expected_ips") or []),
                                           annotations={DISCOVERY_ANNOTATION: discovery_record(host, owner)}) for h in heps]))
            continue
        stale = _cached_facts_problem(host, nodes) if host.get("facts") else "none"
        if stale:
            discover.append(name)
            reasons[name] = reason if stale == "none" else "%s; the facts Ansible holds for it will not do: %s" % (reason, stale)
        else:
            cached.append(name)
            reasons[name] = "%s; the facts Ansible holds for it (fact cache) have its node's addresses" % reason
    return dict(discover=discover, cached=cached, reused=reused, reasons=reasons, errors=[])


def _controller_plan(hosts, nodes, owner, canary):
    names = [h["inventory_hostname"] for h in hosts]
    canary = canary if canary in names else (sorted(names)[0] if names else None)
    reused, errors, claimed = [], [], {}
    for host in hosts:
        entry, error = derived_hostendpoints(host, nodes, owner)
        if error:
            errors.append(error)
        elif entry["node"] in claimed:
            errors.append("%s and %s both map to node %s: set clusterip_exposure_node_name on one of them"
                          % (claimed[entry["node"]], entry["host"], entry["node"]))
        else:
            claimed[entry["node"]] = entry["host"]
            if entry["host"] != canary:
                reused.append(entry)
    reasons = {canary: "the canary: its facts check that its interface holds its node's addresses"} if canary else {}
    return dict(discover=[canary] if canary else [], cached=[], reused=reused, reasons=reasons, errors=errors)


def node_hostendpoints(hosts, nodes, labels=None, owner=None, reused=None, require_node_addresses=False):
    """HostEndpoint items for every (host, interface), plus the mapping and every error found.

    `hosts` is a list of dicts: inventory_hostname, facts (the host's ansible_* network facts), node_name,
    interfaces, interface_query (the per-host role variables). `nodes` comes from calico_cluster_info. `reused`:
    the hosts discovery_plan took over from the cluster, whose items join as they are (with today's labels).
    With `owner`, every item records where it was discovered from (DISCOVERY_ANNOTATION). `require_node_addresses`
    (controller discovery, for the canary): a host's interfaces must hold its node's InternalIPs, the premise on which
    the other hosts' HostEndpoints were derived from their Node objects.
    """
    items = []
    mapping = []
    errors = []
    claimed = {}
    for entry in reused or []:
        claimed[entry["node"]] = entry["host"]
        items.extend(dict(item, labels=dict(labels or {})) for item in entry["items"])
        mapping.append(dict(host=entry["host"], node=entry["node"], matched_by=entry.get("matched_by", "its HostEndpoints"),
                            interfaces=entry["interfaces"], interfaces_from=entry.get("interfaces_from", "its HostEndpoints")))
    for host in hosts:
        name = host["inventory_hostname"]
        facts = host.get("facts") or {}
        node, how_node, error = map_host_to_node(name, facts, host.get("node_name"), nodes)
        if error:
            errors.append(error)
            continue
        if node["name"] in claimed:
            errors.append("%s and %s both map to node %s: set clusterip_exposure_node_name on one of them"
                          % (claimed[node["name"]], name, node["name"]))
            continue
        claimed[node["name"]] = name
        interfaces, how_interfaces, error = choose_interfaces(name, facts, host.get("interfaces"), host.get("interface_query"))
        if error:
            errors.append(error)
            continue
        tunnels = [v.canonical_ip(a) for a in node.get("tunnel_addresses") or []]
        if require_node_addresses:
            held = set(all_interface_addresses(facts) if ALL_INTERFACES in interfaces else
                       [ip for interface in interfaces for ip in interface_addresses(facts, interface)])
            missing = [ip for ip in (v.canonical_ip(a) for a in node.get("internal_ips") or []) if ip not in held]
            if missing:
                errors.append("%s: controller discovery derives every HostEndpoint from its Node object, assuming the node's "
                              "addresses are on %s; on this host (the canary) %s does not hold %s of node %s (it holds %s). "
                              "Fix clusterip_exposure_interfaces or use clusterip_exposure_discovery: changed"
                              % (name, ", ".join(interfaces), ", ".join(interfaces), ", ".join(missing), node["name"],
                                 ", ".join(sorted(held)) or "no address"))
                continue
        for interface in interfaces:
            problem = v.check_interface_name(interface)
            if problem:
                errors.append("%s: interface %s: %s" % (name, interface, problem))
                continue
            ips = all_interface_addresses(facts) if interface == ALL_INTERFACES else interface_addresses(facts, interface)
            if not ips:
                errors.append("%s: interface %s has no address, so no rule could match its traffic" % (name, interface))
                continue
            hep = hostendpoint_name(node["name"], interface)
            item = dict(name=hep, node=node["name"], interface_name=interface,
                        expected_ips=ips + [t for t in tunnels if t not in ips], labels=dict(labels or {}))
            if owner:
                item["annotations"] = {DISCOVERY_ANNOTATION: discovery_record(host, owner)}
            items.append(item)
        mapping.append(dict(host=name, node=node["name"], matched_by=how_node, interfaces=interfaces, interfaces_from=how_interfaces))
    return dict(items=items, mapping=mapping, errors=errors)
