# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The evaluator's index of a World: endpoints, policies by tier, and which policies and rules select what.

Private to this collection: no stability promise. Pure: no I/O. Built once per World and reused by every flow.
"""

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._core.dataplane.world import (
    NS_LABEL,
    SA_LABEL,
    Endpoint,
    Policy,
    as_ip,
    as_net,
    enforced_policies,
    parse_selector,
    policy_tiers,
    proto_number,
)
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.cluster import effective_failsafes
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.nodes import node_addresses


class Index:
    """The world as Felix's calculation graph sees it: endpoints, policies, node addresses, failsafes."""

    def __init__(self, world):
        self.world = world
        self.ns_labels = dict(((n.get("metadata") or {}).get("name"), (n.get("metadata") or {}).get("labels") or {})
                              for n in world.namespaces or [])
        self.heps = [self._hep(h) for h in world.hostendpoints or []]
        self.pods = [self._pod(p) for p in world.pods or []]
        self.sets = [Endpoint("GlobalNetworkSet", p["metadata"]["name"], (p.get("metadata") or {}).get("labels") or {},
                              nets=[as_net(n) for n in (p.get("spec") or {}).get("nets") or []]) for p in world.global_network_sets or []]
        self.endpoints = self.heps + self.pods + self.sets
        policies = [Policy("GlobalNetworkPolicy", p["metadata"]["name"], None, p.get("spec") or {}) for p in enforced_policies(world.global_policies)]
        policies += [Policy("NetworkPolicy", p["metadata"]["name"], p["metadata"].get("namespace") or "default", p.get("spec") or {})
                     for p in enforced_policies(world.network_policies)]
        self.tiers = policy_tiers(world, policies)  # [(tier, sorted policies)] in evaluation order, built once
        self.policies = [p for _tier, members in self.tiers for p in members]
        self.nodes = dict((n["metadata"]["name"], n) for n in world.nodes or [])
        self.node_ips = dict((name, [as_ip(a) for a in node_addresses(n)]) for name, n in self.nodes.items())
        self.failsafes = effective_failsafes(world.felix_configs or [], list(self.nodes.values()))
        self.pod_cidrs = [as_net(c) for c in world.pod_cidrs or []]
        self.applicable = {}  # (endpoint id, direction, flavour) -> [(tier, sorted policies)]; the selector work is done once
        self._pod_by_ip = self._node_by_ip = None
        self._owners = {}

    @staticmethod
    def _hep(obj):
        spec = obj.get("spec") or {}
        ports = [(p.get("name"), proto_number(p.get("protocol") or "TCP"), int(p.get("port"))) for p in spec.get("ports") or []]
        return Endpoint("HostEndpoint", obj["metadata"]["name"], (obj.get("metadata") or {}).get("labels") or {},
                        ips=[as_ip(i) for i in spec.get("expectedIPs") or []], ports=ports, node=spec.get("node"),
                        interface=spec.get("interfaceName") or "", profiles=list(spec.get("profiles") or []))

    @staticmethod
    def _pod(obj):
        meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
        namespace = meta.get("namespace") or "default"
        account = spec.get("serviceAccountName") or "default"
        labels = dict(meta.get("labels") or {})
        labels.update({NS_LABEL: namespace, "projectcalico.org/orchestrator": "k8s", SA_LABEL: account})
        ips = [p.get("ip") for p in status.get("podIPs") or []] or [status.get("podIP")]
        ports = [(p.get("name"), proto_number(p.get("protocol") or "TCP"), int(p["containerPort"]))
                 for c in spec.get("containers") or [] for p in c.get("ports") or [] if p.get("containerPort")]
        return Endpoint("WorkloadEndpoint", meta["name"], labels, namespace=namespace, ips=[as_ip(i) for i in ips if i],
                        ports=ports, node=spec.get("nodeName"), profiles=["kns.%s" % namespace, "ksa.%s.%s" % (namespace, account)],
                        service_account=account)

    def owners(self, ip):
        if ip not in self._owners:
            self._owners[ip] = [e for e in self.endpoints if e.owns(ip)]
        return self._owners[ip]

    def pod_at(self, ip):
        if self._pod_by_ip is None:
            self._pod_by_ip = {}
            for pod in reversed(self.pods):  # the first pod listed wins, as a linear scan would
                self._pod_by_ip.update((address, pod) for address in pod.ips)
        return self._pod_by_ip.get(ip)

    def node_of(self, ip):
        if self._node_by_ip is None:
            self._node_by_ip = {}
            for name, ips in sorted(self.node_ips.items(), reverse=True):
                self._node_by_ip.update((address, name) for address in ips)
        return self._node_by_ip.get(ip)

    def inbound_failsafes(self, node):
        per_node = self.failsafes["per_node"].get(node)
        return (per_node["inbound"] if per_node else self.failsafes["inbound"])

    def outbound_failsafes(self, node):
        per_node = self.failsafes["per_node"].get(node)
        return (per_node["outbound"] if per_node else self.failsafes["outbound"])

    def in_cluster(self, ip):
        return self.pod_at(ip) is not None or any(ip.version == n.version and ip in n for n in self.pod_cidrs)


# -- selection of endpoints by policies and rules ------------------------------------------------

def _namespace_match(text, endpoint, index, account=False):
    """namespaceSelector (or serviceAccountSelector): prefixed labels, all() -> has(namespace label) (SPEC §3.2, §13.2)."""
    if not text or not text.strip():
        return True
    own = SA_LABEL if account else NS_LABEL
    selector = parse_selector(text.replace("all()", "has(%s)" % own))
    labels = {}
    if endpoint.namespaced:
        if account:
            labels = {"projectcalico.org/name": endpoint.service_account}
        else:
            labels = dict(index.ns_labels.get(endpoint.namespace) or {}, **{"projectcalico.org/name": endpoint.namespace})
        labels[own] = endpoint.labels.get(own)
    return selector.matches(labels, namespaced=endpoint.namespaced)


def _policy_selects(policy, endpoint, index):
    spec = policy.spec
    if policy.kind == "NetworkPolicy":
        if not endpoint.namespaced or endpoint.namespace != policy.namespace:
            return False  # an NP never applies to a HEP (SPEC §2.1)
    if not parse_selector(spec.get("selector") or "").matches(endpoint.labels, namespaced=endpoint.namespaced):
        return False
    return (_namespace_match(spec.get("namespaceSelector"), endpoint, index)
            and _namespace_match(spec.get("serviceAccountSelector"), endpoint, index, account=True))


def applicable(index, endpoint, direction, flavour):
    """The policies of one flavour (untracked, prednat, normal, forward, workload) that apply, as [(tier, sorted
    policies)] in tier order, holding only tiers with at least one of them (SPEC §5.1, §5.2; SPEC-3.29-3.32 §4.3)."""
    key = (id(endpoint), direction, flavour)
    if key not in index.applicable:
        # The endpoint is kept with its entry, so its id cannot be reused by another object while cached.
        index.applicable[key] = (endpoint, _applicable(index, endpoint, direction, flavour))
    return index.applicable[key][1]


def _applies(policy, index, endpoint, direction, flavour):
    if direction not in policy.types or not _policy_selects(policy, endpoint, index):
        return False
    untracked, prednat = policy.flag("doNotTrack"), policy.flag("preDNAT")
    if endpoint.kind == "HostEndpoint" and policy.kind == "NetworkPolicy":
        return False
    return {"untracked": untracked, "prednat": prednat and direction == "Ingress",
            "normal": not untracked and not prednat,
            "forward": not untracked and not prednat and policy.flag("applyOnForward"),
            "workload": not untracked and not prednat}[flavour]


def _applicable(index, endpoint, direction, flavour):
    groups = []
    for tier, policies in index.tiers:  # already in tier order, sorted within each tier
        chosen = [p for p in policies if _applies(p, index, endpoint, direction, flavour)]
        if chosen:
            groups.append((tier, chosen))
    return groups


def _entity_selects(entity, endpoint, policy, index):
    """Positive selector + namespaceSelector of a rule side, with the NP namespace scoping (SPEC §3.2, §13.2)."""
    if entity.get("selector") and not parse_selector(entity["selector"]).matches(endpoint.labels, namespaced=endpoint.namespaced):
        return False
    if entity.get("namespaceSelector"):
        return _namespace_match(entity["namespaceSelector"], endpoint, index)
    if policy.kind == "NetworkPolicy":
        return endpoint.namespaced and endpoint.namespace == policy.namespace
    return True


def _accounts_match(accounts, endpoint):
    if not endpoint.namespaced:
        return False
    if accounts.get("names") and endpoint.service_account not in accounts["names"]:
        return False
    return parse_selector(accounts.get("selector") or "").matches({"projectcalico.org/name": endpoint.service_account}, namespaced=True)


def _port_ranges(items):
    numeric, named = [], []
    for item in items or []:
        if isinstance(item, int) or str(item).isdigit():
            numeric.append((int(item), int(item)))
        elif ":" in str(item):
            low, high = str(item).split(":")
            numeric.append((int(low), int(high)))
        else:
            named.append(str(item))
    return numeric, named


def _ports_hit(items, ip, port, proto, entity, policy, index):
    """Numeric ports, ranges, and named ports as (endpoint IP, port) sets of the selected endpoints (SPEC §3.2)."""
    if port is None:
        return False
    numeric, named = _port_ranges(items)
    if any(low <= port <= high for low, high in numeric):
        return True
    scoped = bool(entity.get("selector") or entity.get("namespaceSelector"))
    for endpoint in index.endpoints:
        if ip not in endpoint.ips or (scoped and not _entity_selects(entity, endpoint, policy, index)):
            continue
        if any(name in named and number == port and protocol == proto for name, protocol, number in endpoint.ports):
            return True
    return False


def _side_matches(entity, ip, port, proto, policy, index):
    entity = entity or {}
    nets = [n for n in (as_net(x) for x in entity.get("nets") or []) if n.version == ip.version]
    if entity.get("nets") and not any(ip in n for n in nets):
        return False
    if any(ip in n for n in (as_net(x) for x in entity.get("notNets") or []) if n.version == ip.version):
        return False
    owners = index.owners(ip)
    if (entity.get("selector") or entity.get("namespaceSelector")) and not any(_entity_selects(entity, e, policy, index) for e in owners):
        return False
    if entity.get("notSelector"):
        negated = parse_selector(entity["notSelector"])
        if any(negated.matches(e.labels, namespaced=e.namespaced) for e in owners):
            return False
    if entity.get("serviceAccounts") and not any(_accounts_match(entity["serviceAccounts"], e) for e in owners):
        return False
    if entity.get("services") and not _service_member(entity["services"], ip, policy, index):
        return False
    if entity.get("ports") and not _ports_hit(entity["ports"], ip, port, proto, entity, policy, index):
        return False
    return not (entity.get("notPorts") and _ports_hit(entity["notPorts"], ip, port, proto, entity, policy, index))


def _service_member(match, ip, policy, index):
    """services match: the Service's backend pod IPs, never its cluster IP (SPEC §3.2)."""
    namespace = match.get("namespace") or policy.namespace
    service = next((s for s in index.world.services or [] if s["metadata"]["name"] == match.get("name")
                    and (s["metadata"].get("namespace") or "default") == namespace), None)
    return service is not None and any(ip in p.ips for p in backend_pods(index, service))


def renders_in_family(rule, family):
    """FilterRuleToIPVersion: a rule whose CIDR list loses every entry for this family is not rendered (SPEC §3.2)."""
    if rule.get("ipVersion") and int(rule["ipVersion"]) != family:
        return False
    protocol = proto_number(rule.get("protocol"))
    if (protocol == 1 and family == 6) or (protocol == 58 and family == 4):
        return False
    for side in ("source", "destination"):
        for key in ("nets", "notNets"):
            cidrs = (rule.get(side) or {}).get(key) or []
            if cidrs and not any(as_net(c).version == family for c in cidrs):
                return False
    return True


def rule_matches(rule, packet, policy, index):
    """All criteria ANDed (SPEC §3)."""
    if not renders_in_family(rule, packet.family):
        return False
    if rule.get("protocol") is not None and proto_number(rule["protocol"]) != packet.proto:
        return False
    if rule.get("notProtocol") is not None and proto_number(rule["notProtocol"]) == packet.proto:
        return False
    return (_side_matches(rule.get("source"), packet.src, packet.sport, packet.proto, policy, index)
            and _side_matches(rule.get("destination"), packet.dst, packet.dport, packet.proto, policy, index))


def run_policies(policies, direction, packet, index):
    """First matching Allow/Deny ends, Log continues, Pass leaves the tier (SPEC §3.1, §5.1; SPEC-3.29-3.32 §4.3).

    `policies` are those of one tier. Returns (outcome, policy, rule index, logged): outcome is allow, deny, pass or none.
    """
    logged = []
    for policy in policies:
        for position, rule in enumerate(policy.spec.get(direction.lower()) or []):
            if not rule_matches(rule, packet, policy, index):
                continue
            action = rule.get("action")
            if action == "Log":
                logged.append("%s rule %d (Log)" % (policy.label(), position))
                continue
            return action.lower(), policy, position, logged
    return "none", None, None, logged


def backend_pods(index, service):
    selector = (service.get("spec") or {}).get("selector") or {}
    namespace = service["metadata"].get("namespace") or "default"
    if not selector:
        return []
    return sorted((p for p in index.pods if p.namespace == namespace and all(p.labels.get(k) == v for k, v in selector.items())),
                  key=lambda p: p.name)
