# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Decide one flow the way Calico's Felix (iptables dataplane) with kube-proxy (iptables mode) would.

Private to this collection: no stability promise. Pure: no I/O, inputs are the plain dicts the
Kubernetes and Calico APIs return. Every verdict carries its path: one Stage per step of the packet
walk in SPEC §5.4 (HostEndpoint choice, untracked, failsafes, pre-DNAT, kube-proxy DNAT, host or
forward policy, the backend pod's own policy), naming the policy and rule that decided, or the default.
Traffic a node's own processes send (`Flow.source_is_host`) takes the egress walk of SPEC §5.2/§5.3:
untracked egress, outbound failsafes, normal egress policy and profiles, then the receiving end.

Tiers (SPEC-3.29-3.32 §4.3): when the world carries Tier objects, every chain runs tier by tier, skipping
tiers with no applicable policy; a Pass moves on to the next tier, and the end of a tier drops in normal,
forward and workload chains unless the tier's defaultAction is Pass (never in pre-DNAT or untracked
chains). Without Tier objects every policy sits in one implicit tier "default" that drops at its end.
A Stage that names a policy outside the "default" tier names its tier too. Staged policy kinds are never
enforced (SPEC-3.29-3.32 §7) and are ignored if passed in.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field

from ansible_collections.clusteredge.calico.plugins.module_utils import _selector
from ansible_collections.clusteredge.calico.plugins.module_utils._cluster_info import effective_failsafes
from ansible_collections.clusteredge.calico.plugins.module_utils._exposure import cluster_ips_of, node_addresses

DEFAULT_ALLOW_PROFILE = "projectcalico-default-allow"
DEFAULT_TIER = "default"
DEFAULT_TIER_ORDER = 1000000.0  # the built-in default tier's order (SPEC-3.29-3.32 §4.1)
NS_LABEL = "projectcalico.org/namespace"
SA_LABEL = "projectcalico.org/serviceaccount"
PROTOCOLS = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPV6": 58, "SCTP": 132, "UDPLITE": 136}
POD_INTERFACE = "cali+"
_parse = functools.lru_cache(maxsize=2048)(_selector.parse)


@dataclass
class World:
    """Everything the evaluator reads; lists of API objects. Optional: pod/service CIDRs, Namespaces, Tiers.

    `tiers` are Tier objects as the API returns them; when there are none, every policy is in one implicit
    tier "default" (order 1,000,000, defaultAction Deny) whatever its `spec.tier`.
    """
    hostendpoints: list = field(default_factory=list)
    global_policies: list = field(default_factory=list)
    network_policies: list = field(default_factory=list)
    global_network_sets: list = field(default_factory=list)
    felix_configs: list = field(default_factory=list)
    services: list = field(default_factory=list)
    endpoint_slices: list = None
    nodes: list = field(default_factory=list)
    pods: list = field(default_factory=list)
    profiles_default_allow: bool = True
    namespaces: list = field(default_factory=list)
    pod_cidrs: list = field(default_factory=list)
    service_cidrs: list = field(default_factory=list)
    tiers: list = field(default_factory=list)
    # Built on the first evaluation and reused by every later one: treat a World as read-only once evaluated.
    index: object = field(default=None, repr=False, compare=False)


@dataclass
class Flow:
    source_ip: str
    destination_ip: str
    port: int
    protocol: str = "TCP"
    ingress_node: str = None
    ingress_interface: str = "eth0"
    source_is_pod: bool = False
    source_port: int = None
    # Sent by a process on `ingress_node` (kubelet, SSH client, DNS resolver...): `ingress_interface` is then the
    # interface the packet leaves by (SPEC §5.2 "local host process -> out via HEP").
    source_is_host: bool = False


@dataclass
class Stage:
    name: str
    result: str  # allow | deny | pass-through | n/a
    policy: str = None
    rule_index: int = None
    reason: str = ""
    tier: str = None  # the tier of `policy` (or of an end-of-tier drop) when it is not "default"


@dataclass
class Verdict:
    allowed: bool
    stages: list
    decided_by: str
    backend: str = "none"
    flow: Flow = None


@dataclass
class _Packet:
    src: object
    dst: object
    dport: int
    sport: int
    proto: int

    @property
    def family(self):
        return self.dst.version


@dataclass
class _Endpoint:
    kind: str  # HostEndpoint | WorkloadEndpoint | GlobalNetworkSet
    name: str
    labels: dict
    namespace: str = None
    ips: list = field(default_factory=list)
    nets: list = field(default_factory=list)
    ports: list = field(default_factory=list)  # (name, protocol number, port)
    node: str = None
    interface: str = None
    profiles: list = field(default_factory=list)
    service_account: str = None

    @property
    def namespaced(self):
        return self.kind == "WorkloadEndpoint"

    def owns(self, ip):
        return ip in self.ips or any(ip.version == n.version and ip in n for n in self.nets)

    def label(self):
        return "%s %s" % (self.kind, "%s/%s" % (self.namespace, self.name) if self.namespace else self.name)


@dataclass(frozen=True)
class _Tier:
    """A tier as Felix orders it: existing tiers first, by order (none after every number), then by name
    (SPEC-3.29-3.32 §4.2, §4.3; felix/calc/policy_sorter.go TierLess). A tier named by a policy but with no
    Tier object is still evaluated, after every existing tier, and drops at its end."""
    name: str
    order: float = None
    action: str = "Deny"  # Deny | Pass: anything but Pass is Deny (tierprocessor.go)
    exists: bool = True

    @property
    def sort_key(self):
        return (not self.exists, self.order is None, self.order or 0.0, self.name)


def _foreign(tier):
    """The tier name a Stage carries: None for the default tier, which texts leave unnamed."""
    return None if tier == DEFAULT_TIER else tier


def _tier_prefix(tier):
    return "" if tier == DEFAULT_TIER else "tier %s: " % tier


@dataclass
class _Policy:
    kind: str
    name: str
    namespace: str
    spec: dict
    tier: str = DEFAULT_TIER

    @property
    def key(self):
        """Felix's internal name: ties on order are broken by it (SPEC §5.1, §13.7); `<tier>.<name>` outside the
        default tier (SPEC-3.29-3.32 §3.2, §4.3)."""
        if self.tier != DEFAULT_TIER:
            stored = self.name if self.name.startswith(self.tier + ".") else "%s.%s" % (self.tier, self.name)
        elif self.name.split(".")[0] in ("default", "knp", "ossg") and "." in self.name:
            stored = self.name
        else:
            stored = "default." + self.name
        return "%s/%s" % (self.namespace, stored) if self.kind == "NetworkPolicy" else stored

    @property
    def order(self):
        value = self.spec.get("order")
        return None if value is None else float(value)

    @property
    def types(self):
        """Explicit types, else defaulted from the rules as clientv3 does (SPEC §2.1)."""
        if self.spec.get("types"):
            return list(self.spec["types"])
        if self.spec.get("egress"):
            return ["Ingress", "Egress"] if self.spec.get("ingress") else ["Egress"]
        return ["Ingress"]

    def flag(self, name):
        return bool(self.spec.get(name)) and self.kind == "GlobalNetworkPolicy"

    def title(self):
        return "%s %s" % (self.kind, "%s/%s" % (self.namespace, self.name) if self.kind == "NetworkPolicy" else self.name)

    def label(self):
        """The title as stage texts show it: prefixed with its tier outside the default tier."""
        return _tier_prefix(self.tier) + self.title()


@functools.lru_cache(maxsize=65536)
def _parse_ip(text):
    return ipaddress.ip_address(text.split("/", maxsplit=1)[0])


@functools.lru_cache(maxsize=65536)
def _parse_net(text):
    return ipaddress.ip_network(text, strict=False)


def _ip(text):
    return _parse_ip(str(text))


def _net(text):
    # Rules name the same networks for every flow: parse each text once.
    return _parse_net(str(text))


def _proto(value):
    if value is None:
        return None
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    return PROTOCOLS.get(str(value).upper())


def _sort_key(policy):
    return (policy.order is None, policy.order or 0.0, policy.key)


def _enforced(objects):
    """Staged kinds are never enforced (SPEC-3.29-3.32 §7): objects whose kind starts with Staged are ignored."""
    return [o for o in objects or [] if not str(o.get("kind") or "").startswith("Staged")]


def _tier_of(obj):
    spec = obj.get("spec") or {}
    order = spec.get("order")
    return _Tier(obj["metadata"]["name"], None if order is None or order == "" else float(order),
                 "Pass" if spec.get("defaultAction") == "Pass" else "Deny")


def _policy_tiers(world, policies):
    """Group the policies per tier, tiers in evaluation order and policies sorted within each (SPEC-3.29-3.32 §4.3).

    No Tier objects: one implicit default tier holds every policy (one tier, drop at its end, SPEC §5.1)."""
    if not world.tiers:
        for policy in policies:
            policy.tier = DEFAULT_TIER
        tiers = {DEFAULT_TIER: _Tier(DEFAULT_TIER, DEFAULT_TIER_ORDER)}
    else:
        tiers = dict((t.name, t) for t in (_tier_of(obj) for obj in world.tiers if (obj.get("metadata") or {}).get("name")))
        tiers.setdefault(DEFAULT_TIER, _Tier(DEFAULT_TIER, DEFAULT_TIER_ORDER))  # built in: it always exists
        for policy in policies:
            policy.tier = policy.spec.get("tier") or DEFAULT_TIER
            if policy.tier not in tiers:
                tiers[policy.tier] = _Tier(policy.tier, exists=False)
    members = {}
    for policy in policies:
        members.setdefault(policy.tier, []).append(policy)
    return [(tier, sorted(members[tier.name], key=_sort_key))
            for tier in sorted(tiers.values(), key=lambda t: t.sort_key) if tier.name in members]


class _Index:
    """The world as Felix's calculation graph sees it: endpoints, policies, node addresses, failsafes."""

    def __init__(self, world):
        self.world = world
        self.ns_labels = dict(((n.get("metadata") or {}).get("name"), (n.get("metadata") or {}).get("labels") or {})
                              for n in world.namespaces or [])
        self.heps = [self._hep(h) for h in world.hostendpoints or []]
        self.pods = [self._pod(p) for p in world.pods or []]
        self.sets = [_Endpoint("GlobalNetworkSet", p["metadata"]["name"], (p.get("metadata") or {}).get("labels") or {},
                               nets=[_net(n) for n in (p.get("spec") or {}).get("nets") or []]) for p in world.global_network_sets or []]
        self.endpoints = self.heps + self.pods + self.sets
        policies = [_Policy("GlobalNetworkPolicy", p["metadata"]["name"], None, p.get("spec") or {}) for p in _enforced(world.global_policies)]
        policies += [_Policy("NetworkPolicy", p["metadata"]["name"], p["metadata"].get("namespace") or "default", p.get("spec") or {})
                     for p in _enforced(world.network_policies)]
        self.tiers = _policy_tiers(world, policies)  # [(tier, sorted policies)] in evaluation order, built once
        self.policies = [p for _tier, members in self.tiers for p in members]
        self.nodes = dict((n["metadata"]["name"], n) for n in world.nodes or [])
        self.node_ips = dict((name, [_ip(a) for a in node_addresses(n)]) for name, n in self.nodes.items())
        self.failsafes = effective_failsafes(world.felix_configs or [], list(self.nodes.values()))
        self.pod_cidrs = [_net(c) for c in world.pod_cidrs or []]
        self.applicable = {}  # (endpoint id, direction, flavour) -> [(tier, sorted policies)]; the selector work is done once
        self._pod_by_ip = self._node_by_ip = None
        self._owners = {}

    @staticmethod
    def _hep(obj):
        spec = obj.get("spec") or {}
        ports = [(p.get("name"), _proto(p.get("protocol") or "TCP"), int(p.get("port"))) for p in spec.get("ports") or []]
        return _Endpoint("HostEndpoint", obj["metadata"]["name"], (obj.get("metadata") or {}).get("labels") or {},
                         ips=[_ip(i) for i in spec.get("expectedIPs") or []], ports=ports, node=spec.get("node"),
                         interface=spec.get("interfaceName") or "", profiles=list(spec.get("profiles") or []))

    @staticmethod
    def _pod(obj):
        meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
        namespace = meta.get("namespace") or "default"
        account = spec.get("serviceAccountName") or "default"
        labels = dict(meta.get("labels") or {})
        labels.update({NS_LABEL: namespace, "projectcalico.org/orchestrator": "k8s", SA_LABEL: account})
        ips = [p.get("ip") for p in status.get("podIPs") or []] or [status.get("podIP")]
        ports = [(p.get("name"), _proto(p.get("protocol") or "TCP"), int(p["containerPort"]))
                 for c in spec.get("containers") or [] for p in c.get("ports") or [] if p.get("containerPort")]
        return _Endpoint("WorkloadEndpoint", meta["name"], labels, namespace=namespace, ips=[_ip(i) for i in ips if i],
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
    selector = _parse(text.replace("all()", "has(%s)" % own))
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
    if not _parse(spec.get("selector") or "").matches(endpoint.labels, namespaced=endpoint.namespaced):
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
    if entity.get("selector") and not _parse(entity["selector"]).matches(endpoint.labels, namespaced=endpoint.namespaced):
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
    return _parse(accounts.get("selector") or "").matches({"projectcalico.org/name": endpoint.service_account}, namespaced=True)


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
    nets = [n for n in (_net(x) for x in entity.get("nets") or []) if n.version == ip.version]
    if entity.get("nets") and not any(ip in n for n in nets):
        return False
    if any(ip in n for n in (_net(x) for x in entity.get("notNets") or []) if n.version == ip.version):
        return False
    owners = index.owners(ip)
    if (entity.get("selector") or entity.get("namespaceSelector")) and not any(_entity_selects(entity, e, policy, index) for e in owners):
        return False
    if entity.get("notSelector"):
        negated = _parse(entity["notSelector"])
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
    return service is not None and any(ip in p.ips for p in _backend_pods(index, service))


def _renders_in_family(rule, family):
    """FilterRuleToIPVersion: a rule whose CIDR list loses every entry for this family is not rendered (SPEC §3.2)."""
    if rule.get("ipVersion") and int(rule["ipVersion"]) != family:
        return False
    protocol = _proto(rule.get("protocol"))
    if (protocol == 1 and family == 6) or (protocol == 58 and family == 4):
        return False
    for side in ("source", "destination"):
        for key in ("nets", "notNets"):
            cidrs = (rule.get(side) or {}).get(key) or []
            if cidrs and not any(_net(c).version == family for c in cidrs):
                return False
    return True


def rule_matches(rule, packet, policy, index):
    """All criteria ANDed (SPEC §3)."""
    if not _renders_in_family(rule, packet.family):
        return False
    if rule.get("protocol") is not None and _proto(rule["protocol"]) != packet.proto:
        return False
    if rule.get("notProtocol") is not None and _proto(rule["notProtocol"]) == packet.proto:
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


def _applies_text(policies):
    return "%s appl%s" % (", ".join(p.title() for p in policies), "ies" if len(policies) == 1 else "y")


def _passed_text(passed, what):
    """How one tier ended without a verdict, as the pass-through or profile stage tells it."""
    tier, policies, policy, position = passed
    lead = _tier_prefix(tier.name)
    if what:  # pre-DNAT and untracked chains: nothing drops at the end of a tier
        if policy is not None:
            scope = " of the tier" if lead else ""
            return "%s%s rule %d (Pass) matched: leaves the %s policies%s" % (lead, policy.title(), position, what, scope)
        return "%sno %s rule matched (%s): no default drop here, continue" % (lead, what, ", ".join(p.title() for p in policies))
    if policy is not None:
        return "%s%s rule %d (Pass) matched" % (lead, policy.title(), position)
    return "End of tier %s: no policy in the tier allowed, denied or passed the packet (defaultAction Pass; %s)" % (
        tier.name, _applies_text(policies))


def _after(passed, what):
    """The tiers a decision came after, when some earlier tier passed the packet on."""
    if not passed:
        return ""
    notes = []
    for tier, _policies, policy, position in passed:
        if policy is not None:
            notes.append("tier %s: %s rule %d (Pass) matched" % (tier.name, policy.title(), position))
        else:
            notes.append("tier %s: no %srule matched%s" % (tier.name, what + " " if what else "", "" if what else ", defaultAction Pass"))
    return " (after %s)" % "; ".join(notes)


def _decision_stage(name, outcome, policy, position, logged, passed, what):
    note = "" if not logged else " (logged by %s)" % ", ".join(logged)
    action = {"allow": "Allow", "deny": "Deny"}[outcome]
    return Stage(name, outcome, policy.title(), position, "%s rule %d (%s) matched%s%s" % (
        policy.label(), position, action, note, _after(passed, what)), _foreign(policy.tier))


def _end_of_tier(name, tier, policies, passed):
    """End-of-tier drop of a normal, forward or workload chain (SPEC §5.1 step 4; SPEC-3.29-3.32 §4.3 item 3)."""
    if tier.name == DEFAULT_TIER:
        reason = "end-of-policy drop: %s and none allowed or passed" % _applies_text(policies)
    else:
        why = "defaultAction Deny" if tier.exists else "no Tier %s exists: evaluated after every tier, it drops at its end" % tier.name
        reason = "End of tier %s: no policy in the tier allowed or passed the packet (%s; %s)" % (tier.name, why, _applies_text(policies))
    return Stage(name, "deny", None, None, reason + _after(passed, None), _foreign(tier.name))


def _chain(name, index, endpoint, direction, flavour, packet):
    """One endpoint chain, tier by tier (SPEC §5.1; SPEC-3.29-3.32 §4.3): tiers with no applicable policy are skipped;
    Allow and Deny decide, Pass moves on to the next tier; the end of a tier drops in normal, forward and workload
    chains unless its defaultAction is Pass, never in pre-DNAT or untracked chains. After the last tier normal and
    workload chains go to the profiles; forward chains allow by default."""
    groups = applicable(index, endpoint, direction, flavour)
    what = {"untracked": "untracked", "prednat": "pre-DNAT"}.get(flavour)  # None: a chain with an end-of-tier drop
    logged, passed = [], []
    for tier, policies in groups:
        outcome, policy, position, seen = run_policies(policies, direction, packet, index)
        logged += seen
        if outcome in ("allow", "deny"):
            return _decision_stage(name, outcome, policy, position, logged, passed, what)
        if outcome == "none" and what is None and tier.action != "Pass":
            return _end_of_tier(name, tier, policies, passed)
        passed.append((tier, policies, policy, position))
    policy, position, tier = None, None, None
    if passed and passed[-1][2] is not None:
        tier, _policies, policy, position = passed[-1]
        tier = _foreign(tier.name)
    if what:
        if not groups:
            return Stage(name, "n/a", reason="no %s policy applies" % what)
        return Stage(name, "pass-through", policy.title() if policy else None, position,
                     "; ".join(_passed_text(p, what) for p in passed), tier)
    lead = "; ".join(_passed_text(p, None) for p in passed) + ", " if passed else "no policy applies, "
    if flavour == "forward":
        # Felix renders the default allow only when no tier applies; a chain every tier passed ends without a verdict,
        # which Calico does not drop either.
        return Stage(name, "allow", policy.title() if policy else None, position, lead + "forwarded traffic is allowed by default", tier)
    return _profiles(name, endpoint, index, lead, policy, position, tier)


def _profiles(name, endpoint, index, lead, policy, position, tier=None):
    if endpoint.kind == "WorkloadEndpoint":
        if index.world.profiles_default_allow:
            return Stage(name, "allow", policy.title() if policy else None, position, lead + "profile %s allows" % endpoint.profiles[0], tier)
        return Stage(name, "deny", None, None, lead + "no profile allows")
    if DEFAULT_ALLOW_PROFILE in endpoint.profiles:
        return Stage(name, "allow", policy.title() if policy else None, position, lead + "profile %s allows" % DEFAULT_ALLOW_PROFILE, tier)
    return Stage(name, "deny", None, None, lead + "no profile allows (profiles: %s): drop" % (", ".join(endpoint.profiles) or "none"))


# -- HostEndpoint choice --------------------------------------------------------------------------

def select_heps(index, node, interface):
    """(filter HEP, pre-DNAT HEP): named beats '*', ties by name (SPEC §1.3); pre-DNAT dispatch per SPEC §13.1."""
    on_node = sorted((h for h in index.heps if h.node == node), key=lambda h: h.name)
    node_ips = index.node_ips.get(node, [])
    by_ip = interface not in (POD_INTERFACE, "lo")
    named = [h for h in on_node if h.interface == interface or (not h.interface and by_ip and any(ip in node_ips for ip in h.ips))]
    star = [h for h in on_node if h.interface == "*"]
    chosen = named[0] if named else (star[0] if star else None)
    if chosen is not None and applicable(index, chosen, "Ingress", "prednat"):
        prednat = chosen
    else:
        prednat = star[0] if star and applicable(index, star[0], "Ingress", "prednat") else None
    return chosen, prednat


def _hep_stage(node, interface, chosen, prednat, prefix=""):
    if chosen is None and prednat is None:
        return Stage(prefix + "host endpoint", "n/a", reason="no HostEndpoint governs %s on %s: Calico does not police it" % (interface, node))
    text = "%s governs %s on %s" % (chosen.label(), interface, node) if chosen else "no HostEndpoint in the filter table"
    if prednat is not None and prednat is not chosen:
        text += "; pre-DNAT dispatch falls through to %s" % prednat.label()  # SPEC §13.1
    elif chosen is not None and prednat is None:
        text += "; no pre-DNAT policy applies to it"
    return Stage(prefix + "host endpoint", "pass-through", reason=text)


def _failsafe_hit(index, node, packet, outbound=False):
    """Inbound failsafes match the destination port and the source net; outbound ones the destination port and
    the destination net (SPEC §6)."""
    name = {6: "tcp", 17: "udp", 132: "sctp"}.get(packet.proto)
    entries = index.outbound_failsafes(node)[0] if outbound else index.inbound_failsafes(node)[0]
    peer = packet.dst if outbound else packet.src
    for entry in entries:
        if entry["protocol"] != name or entry["port"] != packet.dport:
            continue
        if entry["net"]:
            net = _net(entry["net"])
            if net.version != peer.version or peer not in net:
                continue
        return "%s:%s%s" % (entry["protocol"], entry["port"], " %s %s" % ("to" if outbound else "from", entry["net"]) if entry["net"] else "")
    return None


def _ingress_hep_chains(index, node, interface, packet, stages, prefix=""):
    """Untracked, failsafe and pre-DNAT stages on one node's ingress HEP. Returns (decision, mark, failsafe, chosen)."""
    chosen, prednat = select_heps(index, node, interface)
    stages.append(_hep_stage(node, interface, chosen, prednat, prefix))
    failsafe = _failsafe_hit(index, node, packet) if (chosen or prednat) else None
    if chosen is not None and chosen.interface != "*":
        stage = _chain(prefix + "untracked", index, chosen, "Ingress", "untracked", packet)
        if failsafe and stage.result == "deny":
            stage = Stage(prefix + "untracked", "pass-through", reason="failsafe %s is accepted in raw before untracked policy" % failsafe)
        stages.append(stage)
        if stage.result in ("allow", "deny"):
            return stage.result, "untracked", failsafe, chosen
    else:
        stages.append(Stage(prefix + "untracked", "n/a", reason="untracked policy is not supported on '*' HostEndpoints"
                            if chosen else "no HostEndpoint"))
    if failsafe:
        # SPEC §6, §13.5
        stages.append(Stage(prefix + "failsafe", "pass-through", reason="inbound failsafe %s: accepted before any policy, without the "
                            "allow mark" % failsafe))
    else:
        stages.append(Stage(prefix + "failsafe", "n/a", reason="no inbound failsafe matches" if (chosen or prednat) else "no HostEndpoint"))
    if prednat is None or failsafe:
        stages.append(Stage(prefix + "pre-DNAT", "n/a", reason="skipped: failsafe accepted" if failsafe else "no pre-DNAT chain"))
        return None, None, failsafe, chosen
    stage = _chain(prefix + "pre-DNAT", index, prednat, "Ingress", "prednat", packet)
    stages.append(stage)
    if stage.result in ("allow", "deny"):
        return stage.result, "prednat", failsafe, chosen
    return None, None, failsafe, chosen


# -- kube-proxy -------------------------------------------------------------------------------------

def _backend_pods(index, service):
    selector = (service.get("spec") or {}).get("selector") or {}
    namespace = service["metadata"].get("namespace") or "default"
    if not selector:
        return []
    return sorted((p for p in index.pods if p.namespace == namespace and all(p.labels.get(k) == v for k, v in selector.items())),
                  key=lambda p: p.name)


def _target_port(service_port, pod):
    target = service_port.get("targetPort")
    if target is None or target == "":
        return int(service_port["port"])
    if isinstance(target, int) or str(target).isdigit():
        return int(target)
    proto = _proto(service_port.get("protocol") or "TCP")
    return next((number for name, protocol, number in pod.ports if name == target and protocol == proto), None)


def _backends(index, service, service_port, family):
    """[(pod IP, target port, node)] from EndpointSlices if given, else from the pods the selector picks."""
    name, namespace = service["metadata"]["name"], service["metadata"].get("namespace") or "default"
    if index.world.endpoint_slices is not None:
        found = []
        for eps in index.world.endpoint_slices:
            meta = eps.get("metadata") or {}
            if (meta.get("labels") or {}).get("kubernetes.io/service-name") != name or (meta.get("namespace") or "default") != namespace:
                continue
            port = next((p.get("port") for p in eps.get("ports") or [] if (p.get("name") or "") == (service_port.get("name") or "")), None)
            for endpoint in eps.get("endpoints") or []:
                for address in endpoint.get("addresses") or []:
                    if port is not None and _ip(address).version == family:
                        found.append((_ip(address), int(port), endpoint.get("nodeName")))
        return found
    result = []
    for pod in _backend_pods(index, service):
        port = _target_port(service_port, pod)
        result.extend((ip, port, pod.node) for ip in pod.ips if ip.version == family and port is not None)
    return result


def _service_for(index, packet, node):
    """(service, service port, kind) for a cluster IP or NodePort destination, or (service, None, kind) when only the IP is known."""
    node_ips = index.node_ips.get(node, [])
    for service in index.world.services or []:
        ports = (service.get("spec") or {}).get("ports") or []
        by_ip = any(_ip(ip) == packet.dst for ip in cluster_ips_of(service))
        for port in ports:
            if _proto(port.get("protocol") or "TCP") != packet.proto:
                continue
            if by_ip and int(port["port"]) == packet.dport:
                return service, port, "cluster IP"
            if packet.dst in node_ips and port.get("nodePort") and int(port["nodePort"]) == packet.dport:
                return service, port, "NodePort"
        if by_ip:
            return service, None, "cluster IP"
    return None, None, None


def _snat_address(index, node, family):
    """kube-proxy MASQUERADE toward a remote backend: the tunnel address, else the InternalIP (SPEC §5.4 step 6, §13.6)."""
    obj = index.nodes.get(node) or {}
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    keys = ("projectcalico.org/IPv4IPIPTunnelAddr", "projectcalico.org/IPv4VXLANTunnelAddr") if family == 4 else (
        "projectcalico.org/IPv6VXLANTunnelAddr",)
    for key in keys:
        if annotations.get(key):
            return _ip(annotations[key]), ("tunl0" if "IPIP" in key else "vxlan.calico" if family == 4 else "vxlan-v6.calico")
    for address in (obj.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP" and _ip(address["address"]).version == family:
            return _ip(address["address"]), "eth0"
    return None, "eth0"


def _loop_prevention(index, node):
    by_name = dict((c["metadata"]["name"], c.get("spec") or {}) for c in index.world.felix_configs or [])
    for name in ("node.%s" % node, "default"):
        if (by_name.get(name) or {}).get("serviceLoopPrevention"):
            return by_name[name]["serviceLoopPrevention"]
    return "Drop"


def _backend_cases(backends, node):
    """kube-proxy may pick any backend: check one on `node` and one elsewhere, those that exist."""
    return [b for b in backends if b[2] == node][:1] + [b for b in backends if b[2] != node][:1]


def _workload_at(index, ip, node):
    """The pod with that IP, or a label-less stand-in when the Pod is unknown (an EndpointSlice address)."""
    return index.pod_at(ip) or _Endpoint("WorkloadEndpoint", str(ip), {}, namespace="?", ips=[ip], node=node)


# -- the walk -----------------------------------------------------------------------------------------

def _deny(stages, backend, flow):
    last = next(s for s in reversed(stages) if s.result == "deny")
    return Verdict(False, stages, "%s: %s" % (last.name, last.reason), backend, flow)


def _finish(stages, backend, flow):
    if any(s.result == "deny" for s in stages):
        return _deny(stages, backend, flow)
    last = next((s for s in reversed(stages) if s.result == "allow"), None)
    decided = "%s: %s" % (last.name, last.reason) if last else "no stage objected"
    # An Allow from a tier other than "default" (a pre-DNAT Allow that skipped host policy, say) is named too.
    foreign = ["%s: %s" % (s.name, s.reason) for s in stages if s.result == "allow" and s.tier and s is not last]
    if foreign:
        decided += " (%s)" % "; ".join(foreign)
    return Verdict(True, stages, decided, backend, flow)


def _forward(index, hep, packet, name, mark):
    if mark:
        return Stage(name, "pass-through", reason="skipped: the %s Allow set the accept mark"  # SPEC §5.2
                     % ("pre-DNAT" if mark == "prednat" else mark))
    if hep is None:
        return Stage(name, "n/a", reason="no HostEndpoint: no forward policy")
    return _chain(name, index, hep, "Ingress", "forward", packet)


def _to_workload(index, stages, pod, packet, source_pod):
    if source_pod is not None:
        stages.append(_chain("source pod egress", index, source_pod, "Egress", "workload", packet))
    stages.append(_chain("pod ingress", index, pod, "Ingress", "workload", packet))


def _walk_backend(index, flow, base, packet, mark, chosen, backend, masquerade, source_pod):
    """Forward policy on the ingress node, then the backend: local or via the tunnel to its node (SPEC §5.4 steps 4-7)."""
    stages = list(base)
    ip, port, pod_node = backend
    post = _Packet(packet.src, ip, port, packet.sport, packet.proto)
    pod = _workload_at(index, ip, pod_node)
    where = "local" if pod_node == flow.ingress_node else "remote"
    stages.append(_forward(index, chosen, post, "forward (from HEP)", mark))
    if stages[-1].result == "deny":
        return _deny(stages, where, flow)
    if where == "local":
        _to_workload(index, stages, pod, post, source_pod)
        return _finish(stages, where, flow)
    snat, tunnel = _snat_address(index, flow.ingress_node, packet.family)
    out_hep = select_heps(index, flow.ingress_node, tunnel)[0]
    if out_hep is not None:
        stages.append(_chain("forward (to HEP %s)" % tunnel, index, out_hep, "Egress", "forward", post))
    if source_pod is not None:
        stages.append(_chain("source pod egress", index, source_pod, "Egress", "workload", post))
    if any(s.result == "deny" for s in stages):
        return _deny(stages, where, flow)
    seen = post
    if masquerade and snat is not None:
        seen = _Packet(snat, ip, port, None, packet.proto)
        stages.append(Stage("SNAT", "pass-through", reason="kube-proxy MASQUERADE to %s's %s address %s on the way to %s"
                            % (flow.ingress_node, tunnel, snat, pod_node)))
    return _into_remote_pod(index, flow, stages, pod, tunnel, seen)


def _into_remote_pod(index, flow, stages, pod, tunnel, seen):
    """The pod's node receives the packet on `tunnel`: its HostEndpoint chains, forward policy, the pod's own policy."""
    decision, mark, _failsafe, hep = _ingress_hep_chains(index, pod.node, tunnel, seen, stages, "remote ")
    if decision == "deny":
        return _deny(stages, "remote", flow)
    stages.append(_forward(index, hep, seen, "remote forward (from HEP)", mark))
    if stages[-1].result == "deny":
        return _deny(stages, "remote", flow)
    stages.append(_chain("pod ingress", index, pod, "Ingress", "workload", seen))
    return _finish(stages, "remote", flow)


def _host_terminated(index, flow, stages, packet, chosen, mark, failsafe, reported=None, prefix=""):
    name = prefix + "host ingress"
    if mark or failsafe:
        why = "failsafe %s" % failsafe if failsafe else "the accept mark of the %s Allow" % ("pre-DNAT" if mark == "prednat" else mark)
        stages.append(Stage(name, "allow", reason="INPUT accepts: %s" % why))
    elif chosen is None:
        stages.append(Stage(name, "allow", reason="no HostEndpoint governs %s: Calico does not police it" % flow.ingress_interface))
    else:
        stages.append(_chain(name, index, chosen, "Ingress", "normal", packet))
    return _finish(stages, "none", reported or flow)


# -- traffic sent by a node's own processes ------------------------------------------------------------

def _egress_hep_chains(index, node, interface, packet, stages):
    """Untracked egress, outbound failsafes, then normal egress policy and profiles (SPEC §5.1-§5.3, §6)."""
    chosen = select_heps(index, node, interface)[0]
    if chosen is None:
        stages.append(Stage("host endpoint", "n/a", reason="no HostEndpoint governs %s on %s: Calico does not police it" % (interface, node)))
        stages.append(Stage("host egress", "allow", reason="no HostEndpoint: the node's egress on %s is not policed" % interface))
        return "allow"
    stages.append(Stage("host endpoint", "pass-through", reason="%s governs %s on %s (egress)" % (chosen.label(), interface, node)))
    failsafe = _failsafe_hit(index, node, packet, outbound=True)
    if chosen.interface != "*":
        stage = _chain("untracked egress", index, chosen, "Egress", "untracked", packet)
        if failsafe and stage.result == "deny":
            stage = Stage("untracked egress", "pass-through", reason="outbound failsafe %s is accepted in raw before untracked policy" % failsafe)
        stages.append(stage)
        if stage.result in ("allow", "deny"):
            return stage.result
    if failsafe:
        stages.append(Stage("failsafe", "allow", reason="outbound failsafe %s: accepted before any egress policy" % failsafe))  # SPEC §6
        return "allow"
    stage = _chain("host egress", index, chosen, "Egress", "normal", packet)
    if stage.result == "deny" and not applicable(index, chosen, "Egress", "normal"):
        stage.reason += "; with ingress-only policy a HostEndpoint cuts the node's egress"  # SPEC §5.3
    stages.append(stage)
    return stage.result


def _arrival_interface(index, node, address, fallback):
    """The interface a node receives `address` on: the named HostEndpoint listing it, else the flow's interface."""
    named = [h for h in index.heps if h.node == node and h.interface not in ("", "*") and address in h.ips]
    return sorted(named, key=lambda h: h.name)[0].interface if named else fallback


def _host_to_pod(index, flow, stages, packet, pod):
    """Host to a pod: its own pods always (SPEC §1.3, §1.4); others through the tunnel, then the pod's node."""
    node = flow.ingress_node
    if pod.node == node:
        stages.append(Stage("host egress", "allow", reason="host to its own local pod %s/%s: always allowed, no HostEndpoint egress "
                            "policy" % (pod.namespace, pod.name)))  # SPEC §1.3, §1.4
        stages.append(_chain("pod ingress", index, pod, "Ingress", "workload", packet))
        return _finish(stages, "local", flow)
    source, tunnel = _snat_address(index, node, packet.family)
    seen = _Packet(source or packet.src, packet.dst, packet.dport, packet.sport, packet.proto)
    if _egress_hep_chains(index, node, tunnel, seen, stages) == "deny":
        return _deny(stages, "remote", flow)
    return _into_remote_pod(index, flow, stages, pod, tunnel, seen)


def _host_originated(index, flow, packet):
    """A node's process sends: kube-proxy DNAT (nat OUTPUT), the node's egress, then the receiving end (SPEC §5.2)."""
    node = flow.ingress_node
    loopback = packet.dst.is_loopback or packet.dst in index.node_ips.get(node, [])
    service, service_port, _kind = (None, None, None) if loopback else _service_for(index, packet, node)
    if service is not None:
        label = "%s/%s" % (service["metadata"].get("namespace") or "default", service["metadata"]["name"])
        backends = _backends(index, service, service_port, packet.family) if service_port else []
        if not backends:
            return [_deny([Stage("DNAT", "deny", reason="Service %s has no endpoints on that port: nothing answers" % label)], "none", flow)]
        verdicts = []
        for ip, port, pod_node in _backend_cases(backends, node):
            pod = _workload_at(index, ip, pod_node)
            stages = [Stage("DNAT", "pass-through", reason="kube-proxy (nat OUTPUT) DNATs %s:%d to %s backend %s:%d on %s" % (
                packet.dst, packet.dport, "local" if pod_node == node else "remote", ip, port, pod_node))]
            verdicts.append(_host_to_pod(index, flow, stages, _Packet(packet.src, ip, port, packet.sport, packet.proto), pod))
        return verdicts
    target = None if loopback else index.pod_at(packet.dst)
    if target is not None:
        return [_host_to_pod(index, flow, [], packet, target)]
    stages = []
    interface = "lo" if loopback else flow.ingress_interface
    if _egress_hep_chains(index, node, interface, packet, stages) == "deny":
        return [_deny(stages, "none", flow)]
    peer = node if loopback else index.node_of(packet.dst)
    if peer is None:
        stages.append(Stage("delivery", "n/a", reason="%s is outside the cluster: Calico's part ends when the packet leaves %s" % (packet.dst, node)))
        return [_finish(stages, "none", flow)]
    arrival = "lo" if loopback else _arrival_interface(index, peer, packet.dst, flow.ingress_interface)
    prefix = "" if loopback else "remote "
    decision, mark, failsafe, chosen = _ingress_hep_chains(index, peer, arrival, packet, stages, prefix)
    if decision == "deny":
        return [_deny(stages, "none", flow)]
    receiving = Flow(**dict(flow.__dict__, ingress_node=peer, ingress_interface=arrival))
    return [_host_terminated(index, receiving, stages, packet, chosen, mark, failsafe, flow, prefix)]


def index_of(world):
    """The world's index, built on first use and kept on it."""
    if world.index is None:
        world.index = _Index(world)
    return world.index


def evaluate_all(world, flow):
    """One Verdict per backend case (local, remote) after kube-proxy DNAT, else a single Verdict."""
    index = index_of(world)
    packet = _Packet(_ip(flow.source_ip), _ip(flow.destination_ip), int(flow.port), flow.source_port, _proto(flow.protocol))
    source_pod = index.pod_at(packet.src)
    node = flow.ingress_node or (source_pod.node if source_pod else index.node_of(packet.src) if flow.source_is_host else None)
    flow = Flow(**dict(flow.__dict__, ingress_node=node))
    if flow.source_is_host:
        return _host_originated(index, flow, packet)
    interface = POD_INTERFACE if (flow.source_is_pod or source_pod) and source_pod and source_pod.node == node else flow.ingress_interface
    stages = []
    decision, mark, failsafe, chosen = _ingress_hep_chains(index, node, interface, packet, stages)
    if decision == "deny":
        return [_deny(stages, "none", flow)]
    service, service_port, kind = _service_for(index, packet, node)
    if mark == "untracked" and service is not None:
        stages.append(Stage("DNAT", "deny", reason="untracked (NOTRACK) packets are not NATed by kube-proxy, so the %s is never "
                            "translated" % kind))
        return [_deny(stages, "none", flow)]
    if service is None:
        if packet.dst in index.node_ips.get(node, []):
            stages.append(Stage("DNAT", "n/a", reason="%s is an address of %s: host-terminated" % (packet.dst, node)))
            return [_host_terminated(index, flow, stages, packet, chosen, mark, failsafe)]
        in_range = any(packet.dst.version == n.version and packet.dst in n for n in (_net(c) for c in world.service_cidrs or []))
        target = index.pod_at(packet.dst)
        if target is None:
            if in_range:
                action = _loop_prevention(index, node)
                why = "dropped" if action != "Disabled" else "not blocked by Calico, but nothing answers (no route: it loops back out)"
                stages.append(Stage("DNAT", "deny", reason="%s is in a service range but no Service owns it: ServiceLoopPrevention %s, %s"
                                    % (packet.dst, action, why)))
                return [_deny(stages, "none", flow)]
            stages.append(Stage("DNAT", "n/a", reason="%s is no cluster IP, node or pod address: routed on" % packet.dst))
            stages.append(_forward(index, chosen, packet, "forward (from HEP)", mark))
            return [_finish(stages, "none", flow)]
        stages.append(Stage("DNAT", "n/a", reason="%s is the IP of pod %s/%s: routed to it" % (packet.dst, target.namespace, target.name)))
        return [_walk_backend(index, flow, stages, packet, mark, chosen, (packet.dst, packet.dport, target.node), False, source_pod)]
    label = "%s/%s" % (service["metadata"].get("namespace") or "default", service["metadata"]["name"])
    if service_port is None:
        stages.append(Stage("DNAT", "deny", reason="Service %s has no %s port %d: kube-proxy does not DNAT; ServiceLoopPrevention %s drops"
                            % (label, flow.protocol, packet.dport, _loop_prevention(index, node))))
        return [_deny(stages, "none", flow)]
    backends = _backends(index, service, service_port, packet.family)
    etp_local = kind == "NodePort" and (service.get("spec") or {}).get("externalTrafficPolicy") == "Local"
    if etp_local:
        backends = [b for b in backends if b[2] == node]
    if not backends:
        stages.append(Stage("DNAT", "deny", reason="Service %s has no %sendpoints: kube-proxy rejects (KUBE-SERVICES REJECT)"
                            % (label, "local " if etp_local else "")))
        return [_deny(stages, "none", flow)]
    masquerade = (not index.in_cluster(packet.src)) if kind == "cluster IP" else not etp_local
    verdicts = []
    for backend in _backend_cases(backends, node):
        dnat = Stage("DNAT", "pass-through", reason="kube-proxy DNATs %s %s:%d to %s backend %s:%d on %s%s" % (
            kind, packet.dst, packet.dport, "local" if backend[2] == node else "remote", backend[0], backend[1], backend[2],
            # SPEC §5.4 step 3
            "; off-cluster source marked for MASQUERADE whatever the externalTrafficPolicy" if masquerade else ""))
        verdicts.append(_walk_backend(index, flow, stages + [dnat], packet, mark, chosen, backend, masquerade, source_pod))
    return verdicts


def evaluate(world, flow):
    """A single Verdict: the backend cases when they agree, else the allowed one (some connections get through)."""
    verdicts = evaluate_all(world, flow)
    allowed = [v for v in verdicts if v.allowed]
    if allowed and len(allowed) < len(verdicts):
        return allowed[0]
    return verdicts[0]


def explain(verdict):
    """A readable multi-line path of one verdict."""
    flow = verdict.flow or Flow("?", "?", "?", "?", "?", "?")
    outcome = "ALLOWED" if verdict.allowed else "DENIED"
    head = "%s: %s %s -> %s:%s %s %s/%s" % (outcome, flow.protocol, flow.source_ip, flow.destination_ip, flow.port,
                                            "from" if flow.source_is_host else "via", flow.ingress_node, flow.ingress_interface)
    lines = [head + ("" if verdict.backend == "none" else " (%s backend)" % verdict.backend)]
    for stage in verdict.stages:
        lines.append("  %s: %s%s" % (stage.name, stage.result, " - " + stage.reason if stage.reason else ""))
    lines.append("decided by %s" % verdict.decided_by)
    return "\n".join(lines)
