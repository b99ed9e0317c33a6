# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The packet walk: one flow through HostEndpoint choice, failsafes, pre-DNAT, kube-proxy, forward or host policy and the backend pod.

Private to this collection: no stability promise. Pure: no I/O. `evaluate_all` is the entry point; `explain`
turns a Verdict into the lines users read.
"""

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._core.dataplane.index import Index, applicable, backend_pods, run_policies
from ansible_collections.clusteredge.calico.plugins.module_utils._core.dataplane.world import (
    DEFAULT_ALLOW_PROFILE,
    DEFAULT_TIER,
    POD_INTERFACE,
    Endpoint,
    Flow,
    Packet,
    Stage,
    Verdict,
    as_ip,
    as_net,
    foreign_tier,
    proto_number,
    tier_prefix,
)
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure.resolve import cluster_ips_of


def _applies_text(policies):
    return "%s appl%s" % (", ".join(p.title() for p in policies), "ies" if len(policies) == 1 else "y")


def _passed_text(passed, what):
    """How one tier ended without a verdict, as the pass-through or profile stage tells it."""
    tier, policies, policy, position = passed
    lead = tier_prefix(tier.name)
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
        policy.label(), position, action, note, _after(passed, what)), foreign_tier(policy.tier))


def _end_of_tier(name, tier, policies, passed):
    """End-of-tier drop of a normal, forward or workload chain (SPEC §5.1 step 4; SPEC-3.29-3.32 §4.3 item 3)."""
    if tier.name == DEFAULT_TIER:
        reason = "end-of-policy drop: %s and none allowed or passed" % _applies_text(policies)
    else:
        why = "defaultAction Deny" if tier.exists else "no Tier %s exists: evaluated after every tier, it drops at its end" % tier.name
        reason = "End of tier %s: no policy in the tier allowed or passed the packet (%s; %s)" % (tier.name, why, _applies_text(policies))
    return Stage(name, "deny", None, None, reason + _after(passed, None), foreign_tier(tier.name))


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
        tier = foreign_tier(tier.name)
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
            net = as_net(entry["net"])
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

def _target_port(service_port, pod):
    target = service_port.get("targetPort")
    if target is None or target == "":
        return int(service_port["port"])
    if isinstance(target, int) or str(target).isdigit():
        return int(target)
    proto = proto_number(service_port.get("protocol") or "TCP")
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
                    if port is not None and as_ip(address).version == family:
                        found.append((as_ip(address), int(port), endpoint.get("nodeName")))
        return found
    result = []
    for pod in backend_pods(index, service):
        port = _target_port(service_port, pod)
        result.extend((ip, port, pod.node) for ip in pod.ips if ip.version == family and port is not None)
    return result


def _service_for(index, packet, node):
    """(service, service port, kind) for a cluster IP or NodePort destination, or (service, None, kind) when only the IP is known."""
    node_ips = index.node_ips.get(node, [])
    for service in index.world.services or []:
        ports = (service.get("spec") or {}).get("ports") or []
        by_ip = any(as_ip(ip) == packet.dst for ip in cluster_ips_of(service))
        for port in ports:
            if proto_number(port.get("protocol") or "TCP") != packet.proto:
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
            return as_ip(annotations[key]), ("tunl0" if "IPIP" in key else "vxlan.calico" if family == 4 else "vxlan-v6.calico")
    for address in (obj.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP" and as_ip(address["address"]).version == family:
            return as_ip(address["address"]), "eth0"
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
    return index.pod_at(ip) or Endpoint("WorkloadEndpoint", str(ip), {}, namespace="?", ips=[ip], node=node)


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
    post = Packet(packet.src, ip, port, packet.sport, packet.proto)
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
        seen = Packet(snat, ip, port, None, packet.proto)
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
    seen = Packet(source or packet.src, packet.dst, packet.dport, packet.sport, packet.proto)
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
            verdicts.append(_host_to_pod(index, flow, stages, Packet(packet.src, ip, port, packet.sport, packet.proto), pod))
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
        world.index = Index(world)
    return world.index


def evaluate_all(world, flow):
    """One Verdict per backend case (local, remote) after kube-proxy DNAT, else a single Verdict."""
    index = index_of(world)
    packet = Packet(as_ip(flow.source_ip), as_ip(flow.destination_ip), int(flow.port), flow.source_port, proto_number(flow.protocol))
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
        in_range = any(packet.dst.version == n.version and packet.dst in n for n in (as_net(c) for c in world.service_cidrs or []))
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
