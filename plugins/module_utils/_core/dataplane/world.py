# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The dataplane evaluator decides one flow the way Calico's Felix (iptables dataplane) with kube-proxy (iptables
mode) would. This file holds its inputs and outputs (World, Flow, Stage, Verdict) and the parsed policies and tiers;
index.py indexes a World once, walk.py walks a flow through it, flows.py resolves flows as users write them.

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

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model import selector as selectors

DEFAULT_ALLOW_PROFILE = "projectcalico-default-allow"
DEFAULT_TIER = "default"
DEFAULT_TIER_ORDER = 1000000.0  # the built-in default tier's order (SPEC-3.29-3.32 §4.1)
NS_LABEL = "projectcalico.org/namespace"
SA_LABEL = "projectcalico.org/serviceaccount"
PROTOCOLS = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPV6": 58, "SCTP": 132, "UDPLITE": 136}
POD_INTERFACE = "cali+"
parse_selector = functools.lru_cache(maxsize=2048)(selectors.parse)


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
class Packet:
    src: object
    dst: object
    dport: int
    sport: int
    proto: int

    @property
    def family(self):
        return self.dst.version


@dataclass
class Endpoint:
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


def foreign_tier(tier):
    """The tier name a Stage carries: None for the default tier, which texts leave unnamed."""
    return None if tier == DEFAULT_TIER else tier


def tier_prefix(tier):
    return "" if tier == DEFAULT_TIER else "tier %s: " % tier


@dataclass
class Policy:
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
        return tier_prefix(self.tier) + self.title()


@functools.lru_cache(maxsize=65536)
def _parse_ip(text):
    return ipaddress.ip_address(text.split("/", maxsplit=1)[0])


@functools.lru_cache(maxsize=65536)
def _parse_net(text):
    return ipaddress.ip_network(text, strict=False)


def as_ip(text):
    return _parse_ip(str(text))


def as_net(text):
    # Rules name the same networks for every flow: parse each text once.
    return _parse_net(str(text))


def proto_number(value):
    if value is None:
        return None
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    return PROTOCOLS.get(str(value).upper())


def _sort_key(policy):
    return (policy.order is None, policy.order or 0.0, policy.key)


def enforced_policies(objects):
    """Staged kinds are never enforced (SPEC-3.29-3.32 §7): objects whose kind starts with Staged are ignored."""
    return [o for o in objects or [] if not str(o.get("kind") or "").startswith("Staged")]


def _tier_of(obj):
    spec = obj.get("spec") or {}
    order = spec.get("order")
    return _Tier(obj["metadata"]["name"], None if order is None or order == "" else float(order),
                 "Pass" if spec.get("defaultAction") == "Pass" else "Deny")


def policy_tiers(world, policies):
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
