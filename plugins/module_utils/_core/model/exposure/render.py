# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Exposure rendering: resolved exposures -> the GlobalNetworkPolicies, NetworkPolicies and GlobalNetworkSet that protect them.

Private to this collection: no stability promise. Pure: no I/O. What is rendered, and why it differs from the
guide's literal text, is in docs/clusterip-exposure.md.
"""

from __future__ import annotations

import json

from ansible_collections.clusteredge.calico.plugins.module_utils._core.api.resources import CALICO_API_VERSION
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure.params import (
    COMPONENT,
    COMPONENT_LABEL,
    NODE_SET_LABEL,
    ORDER_HOST_TRAFFIC,
    ORDER_POD_POLICY,
    ORDER_PRE_DNAT_ALLOW,
    ORDER_PRE_DNAT_DENY,
    PIN_ANNOTATION,
    PINNED_BY_ANNOTATION,
    RECORD_ANNOTATION,
    RULE_SERVICE_ANNOTATION,
    RULES_PER_POLICY,
    host_net,
    owned_component,
    service_key,
)
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure.resolve import context, resolve_all, service_from_override
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.ownership import OWNER_LABEL, object_key


# -- rendering ---------------------------------------------------------------------------------------

def _metadata(name, owner, namespace=None, annotations=None):
    meta = {"name": name, "labels": {OWNER_LABEL: owner, COMPONENT_LABEL: COMPONENT}}
    if namespace:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = annotations
    return meta


def _policy(kind, name, owner, spec, namespace=None, annotations=None):
    return {"apiVersion": CALICO_API_VERSION, "kind": kind, "metadata": _metadata(name, owner, namespace, annotations), "spec": spec}


def _pre_dnat(node_selector, rules, order):
    return {"order": order, "selector": node_selector, "types": ["Ingress"], "applyOnForward": True, "preDNAT": True,
            "ingress": rules}


def _by_protocol(ports, attribute):
    grouped = {}
    for port in ports:
        values = grouped.setdefault(port["protocol"], [])
        if port[attribute] not in values:
            values.append(port[attribute])
    return sorted(grouped.items())


def cluster_ip_rules(exposure):
    """Pre-DNAT allows: listed sources -> this Service's cluster IP and service ports, one family per rule."""
    rules = []
    for fam in (4, 6):
        if not exposure.sources[fam]:
            continue
        for protocol, ports in _by_protocol(exposure.ports, "port"):
            rules.append({
                "action": "Allow",
                "protocol": protocol,
                "source": {"nets": list(exposure.sources[fam])},
                "destination": {"nets": [host_net(exposure.ip_by_family[fam])], "ports": ports},
                "metadata": {"annotations": {RULE_SERVICE_ANNOTATION: exposure.key}},
            })
    return rules


def _family_rules(cidrs_by_family, build):
    return [build(fam, cidrs) for fam, cidrs in sorted(cidrs_by_family.items()) if cidrs]


def pod_policy(exposure, ctx):
    """Namespaced policy on the Service's pods: nodes (SNAT), listed sources, in-cluster clients; target ports."""
    rules = []
    for protocol, targets in _by_protocol(exposure.ports, "target_port"):
        destination = {"ports": targets}
        rules.append({"action": "Allow", "protocol": protocol,
                      "source": {"selector": ctx.node_selector, "namespaceSelector": "global()"},
                      "destination": dict(destination)})
        if ctx.node_addresses:
            rules.append({"action": "Allow", "protocol": protocol,
                          "source": {"selector": node_set_selector(ctx.name_prefix), "namespaceSelector": "global()"},
                          "destination": dict(destination)})
        for fam in (4, 6):
            if exposure.sources[fam]:
                rules.append({"action": "Allow", "protocol": protocol, "source": {"nets": list(exposure.sources[fam])},
                              "destination": dict(destination)})
        if exposure.allow_cluster_clients:
            for fam in (4, 6):
                if ctx.pod_cidrs[fam]:
                    rules.append({"action": "Allow", "protocol": protocol, "source": {"nets": list(ctx.pod_cidrs[fam])},
                                  "destination": dict(destination)})
    spec = {"order": ORDER_POD_POLICY, "selector": exposure.pod_selector, "types": ["Ingress"], "ingress": rules}
    return spec


def allow_policy_name(prefix, chunk):
    return "%s-allow-cluster-ips" % prefix + ("" if chunk == 0 else "-%d" % (chunk + 1))


def chunks_in_use(live_gnps, prefix):
    """Service key -> index of the allow-cluster-ips policy that holds its rules now (from the rule annotations)."""
    names = {}
    for obj in live_gnps or []:
        name = (obj.get("metadata") or {}).get("name")
        base = "%s-allow-cluster-ips" % prefix
        if name == base:
            chunk = 0
        elif name and name.startswith(base + "-") and name[len(base) + 1:].isdigit():
            chunk = int(name[len(base) + 1:]) - 1
        else:
            continue
        for rule in (obj.get("spec") or {}).get("ingress") or []:
            key = ((rule.get("metadata") or {}).get("annotations") or {}).get(RULE_SERVICE_ANNOTATION)
            if key:
                names.setdefault(key, chunk)
    return names


def assign_chunks(rule_groups, previous):
    """Place each Service's rules in a policy of at most RULES_PER_POLICY rules, keeping them where they are.

    Sticky placement means adding, changing or removing one Service rewrites one policy, and no rule is ever
    moved between policies (a moved rule could be briefly in neither while both are rewritten).
    """
    sizes = {}
    placement = {}
    for key, rules in rule_groups:
        chunk = previous.get(key)
        if chunk is not None and sizes.get(chunk, 0) + len(rules) <= RULES_PER_POLICY:
            placement[key] = chunk
            sizes[chunk] = sizes.get(chunk, 0) + len(rules)
    for key, rules in rule_groups:
        if key in placement:
            continue
        chunk = 0
        while sizes.get(chunk, 0) and sizes[chunk] + len(rules) > RULES_PER_POLICY:
            chunk += 1
        placement[key] = chunk
        sizes[chunk] = sizes.get(chunk, 0) + len(rules)
    return placement


def node_set_selector(prefix):
    return "%s == '%s'" % (NODE_SET_LABEL, prefix)


def render(exposures, records, ctx, live_gnps=None):
    """All GlobalNetworkPolicies, NetworkPolicies and the node GlobalNetworkSet for `exposures`, as manifests."""
    owner = ctx.owner
    prefix = ctx.name_prefix
    node_selector = ctx.node_selector
    gnps = []
    nps = []
    if not exposures:
        return gnps, nps
    groups = [(exposure.key, cluster_ip_rules(exposure)) for exposure in exposures]
    placement = assign_chunks(groups, chunks_in_use(live_gnps, prefix))
    for chunk in range(max(placement.values()) + 1):
        rules = [rule for key, group in groups if placement[key] == chunk for rule in group]
        gnps.append(_policy("GlobalNetworkPolicy", allow_policy_name(prefix, chunk), owner,
                            _pre_dnat(node_selector, rules, ORDER_PRE_DNAT_ALLOW)))
    pods = ctx.pod_cidrs
    services = ctx.service_ranges
    to_pods = _family_rules(pods, lambda fam, cidrs: {"action": "Allow", "destination": {"nets": list(cidrs)}})
    gnps.append(_policy("GlobalNetworkPolicy", "%s-allow-to-pods" % prefix, owner, _pre_dnat(node_selector, to_pods, ORDER_PRE_DNAT_ALLOW)))
    node_sources = [node_selector] + ([node_set_selector(prefix)] if ctx.node_addresses else [])
    from_cluster = []
    for fam in (4, 6):
        if not services[fam]:
            continue
        if pods[fam]:
            from_cluster.append({"action": "Allow", "source": {"nets": list(pods[fam])}, "destination": {"nets": list(services[fam])}})
        for selector in node_sources:
            from_cluster.append({"action": "Allow", "source": {"selector": selector}, "destination": {"nets": list(services[fam])}})
    gnps.append(_policy("GlobalNetworkPolicy", "%s-allow-from-cluster" % prefix, owner,
                        _pre_dnat(node_selector, from_cluster, ORDER_PRE_DNAT_ALLOW)))
    deny = _family_rules(services, lambda fam, cidrs: {"action": "Deny", "destination": {"nets": list(cidrs)}})
    gnps.append(_policy("GlobalNetworkPolicy", "%s-deny-service-ranges" % prefix, owner, _pre_dnat(node_selector, deny, ORDER_PRE_DNAT_DENY)))
    gnps.append(_policy("GlobalNetworkPolicy", "%s-allow-traffic-hostendpoints" % prefix, owner, host_traffic_spec(ctx)))
    for exposure in exposures:
        annotations = {RECORD_ANNOTATION: json.dumps(records[exposure.key], sort_keys=True, separators=(",", ":"))}
        nps.append(_policy("NetworkPolicy", pod_policy_name(prefix, exposure.name), owner, pod_policy(exposure, ctx),
                           namespace=exposure.namespace, annotations=annotations))
    return gnps, nps


def node_network_set(ctx):
    """Every node's InternalIP and tunnel addresses as one GlobalNetworkSet the pod policies trust.

    Pod policy sees a node or tunnel address for SNATed traffic (SPEC §5.4 step 7). Matching it through this set
    works before any HostEndpoint exists and whatever their expectedIPs hold; a node joining rewrites one object.
    """
    addresses = ctx.node_addresses or []
    if not addresses:
        return None
    manifest = _policy("GlobalNetworkSet", "%s-node-addresses" % ctx.name_prefix, ctx.owner,
                       {"nets": [host_net(ip) for ip in addresses]})
    manifest["metadata"]["labels"][NODE_SET_LABEL] = ctx.name_prefix
    return manifest


def node_network_sets(ctx, exposures):
    """The node set as a list: none without exposures (nothing trusts it) or without node addresses."""
    network_set = node_network_set(ctx) if exposures else None
    return [network_set] if network_set else []


def pod_policy_name(prefix, service_name):
    return "%s-allow-svc-%s" % (prefix, service_name)


def host_traffic_spec(ctx):
    """The guide's host-traffic policy done right: every ingress but the NodePort range, and all egress.

    The guide's two allows come first (without its destination selector, which only matches HostEndpoints with
    expectedIPs); ICMP and every other protocol (IPIP, VRRP, ...) follow, so nothing the node needs is cut.
    Egress must be allowed explicitly: a HostEndpoint with ingress-only policy denies the node's egress (SPEC §5.3).
    """
    nodeports = [ctx.nodeport_range]
    ingress = [
        {"action": "Allow", "protocol": "TCP", "destination": {"notPorts": nodeports}},
        {"action": "Allow", "protocol": "UDP", "destination": {"notPorts": nodeports}},
        {"action": "Allow", "protocol": "ICMP"},
        {"action": "Allow", "protocol": "ICMPv6"},
        {"action": "Deny", "protocol": "TCP", "destination": {"ports": nodeports}},
        {"action": "Deny", "protocol": "UDP", "destination": {"ports": nodeports}},
        {"action": "Allow"},
    ]
    return {"order": ORDER_HOST_TRAFFIC, "selector": ctx.node_selector, "types": ["Ingress", "Egress"],
            "ingress": ingress, "egress": [{"action": "Allow"}]}


def is_host_traffic_policy(obj, prefix):
    return (obj.get("metadata") or {}).get("name") == "%s-allow-traffic-hostendpoints" % prefix


def exposure_summary(exposure):
    """What the result reports per Service."""
    return dict(
        namespace=exposure.namespace,
        name=exposure.name,
        mode=exposure.mode,
        cluster_ips=exposure.cluster_ips,
        sources=exposure.source_list,
        ports=[dict(port=p["port"], protocol=p["protocol"], target_port=p["target_port"], name=p["name"]) for p in exposure.ports],
        allow_cluster_clients=exposure.allow_cluster_clients,
    )


def render_offline(params):
    """state=rendered: everything from the parameters, no cluster. Returns (manifests, exposures, errors)."""
    items = params.get("config") or []
    items_by_key = dict((service_key(i["namespace"], i["name"]), (index, i)) for index, i in enumerate(items))
    ctx = context(params, params["owner"], params["service_cidrs"], params["pod_cidrs"], params.get("node_addresses"))
    services = dict((key, service_from_override(item)) for key, (_index, item) in items_by_key.items())
    target = dict((key, item) for key, (_index, item) in items_by_key.items())
    errors = []
    exposures, records = resolve_all(target, items_by_key, services, ctx, errors, [], lambda key: "unreachable")
    if errors:
        return [], [], errors
    gnps, nps = render(exposures, records, ctx)
    return gnps + nps + node_network_sets(ctx, exposures), exposures, []


# -- what else a run writes, and in which order --------------------------------------------------------

def pin_patches(exposures, current, services, owner, remove_pins=True):
    """Pin annotations as (key, Service, merge patch): set on exposed Services, removed where this owner no longer exposes."""
    patches = []
    exposed = dict((e.key, e) for e in exposures)
    # Services pinned by this owner count too: a run that stopped after deleting a Service's policy but before
    # removing its pin leaves no record of it, and the re-run must still remove the pin.
    pinned = set(k for k, s in services.items() if ((s.get("metadata") or {}).get("annotations") or {}).get(PINNED_BY_ANNOTATION) == owner)
    for key in sorted(set(exposed) | set(current) | pinned):
        service = services.get(key)
        if service is None:
            continue
        annotations = (service.get("metadata") or {}).get("annotations") or {}
        if key in exposed:
            wanted = {PIN_ANNOTATION: ",".join(exposed[key].cluster_ips), PINNED_BY_ANNOTATION: owner}
            if annotations.get(PINNED_BY_ANNOTATION) not in (None, owner):
                continue  # another owner exposes it too and keeps the pin; never flap the annotations between owners
            if any(annotations.get(k) != val for k, val in wanted.items()):
                patches.append((key, service, {"metadata": {"annotations": wanted}}))
        elif remove_pins and annotations.get(PINNED_BY_ANNOTATION) == owner:
            patches.append((key, service, {"metadata": {"annotations": {PIN_ANNOTATION: None, PINNED_BY_ANNOTATION: None}}}))
    return patches


def in_scope(live_objects, desired, owner):
    """Live objects the plan must see: this owner's exposure objects, and any object a desired one would collide with."""
    wanted = set(object_key(o) for o in desired)
    return [o for o in live_objects if owned_component(o, owner) or object_key(o) in wanted]


def _rule_count(obj):
    return len(((obj or {}).get("spec") or {}).get("ingress") or [])


def write_order(kind, change, prefix):
    """Sort key of one change: allows before the deny on the way in, the deny first on the way out.

    On the way in the node network set comes first (pod policies refer to it), then pod policies, then host
    policies; a policy that gains rules is written before one that loses them.
    """
    name = change.key.rsplit("/", 1)[-1]
    is_deny = kind == "GlobalNetworkPolicy" and name == "%s-deny-service-ranges" % prefix
    kind_rank = {"GlobalNetworkSet": 0, "NetworkPolicy": 1, "GlobalNetworkPolicy": 2}[kind]
    if change.action != "delete":
        shrinking = change.action == "update" and _rule_count(change.desired) < _rule_count(change.live)
        return (1 if is_deny else 0, kind_rank, 1 if shrinking else 0)
    return (2 if is_deny else 3, -kind_rank, 0)
