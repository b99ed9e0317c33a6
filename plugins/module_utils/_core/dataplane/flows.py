# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Flows as users write them (calico_flow_check `flows`): resolved to addresses, evaluated, checked against `expect`.

Private to this collection: no stability promise. Pure: no I/O.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.clusteredge.calico.plugins.module_utils._core.dataplane.walk import evaluate_all, explain, index_of
from ansible_collections.clusteredge.calico.plugins.module_utils._core.dataplane.world import Flow, World, proto_number
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.nodes import node_addresses


KIND_FIELDS = {
    "HostEndpoint": "hostendpoints", "GlobalNetworkPolicy": "global_policies", "NetworkPolicy": "network_policies",
    "GlobalNetworkSet": "global_network_sets", "FelixConfiguration": "felix_configs", "Service": "services",
    "Node": "nodes", "Pod": "pods", "Namespace": "namespaces", "EndpointSlice": "endpoint_slices", "Tier": "tiers",
}


def world_from_objects(objects, pod_cidrs, service_cidrs):
    fields = dict((name, []) for name in KIND_FIELDS.values())
    for obj in objects:
        field = KIND_FIELDS.get(obj.get("kind"))
        if field:
            fields[field].append(obj)
    if not fields["endpoint_slices"]:
        fields["endpoint_slices"] = None
    return World(pod_cidrs=list(pod_cidrs or []), service_cidrs=list(service_cidrs or []), **fields)


def _pods(world):
    pods = [p for p in world.pods if (p.get("status") or {}).get("podIP")]
    return sorted(pods, key=lambda p: (p["metadata"].get("namespace") or "", p["metadata"]["name"]))


def _service(world, key):
    namespace, _sep, name = key.partition("/")
    return next((s for s in world.services if s["metadata"].get("namespace") == namespace and s["metadata"]["name"] == name), None)


def _selected(pod, service):
    selector = ((service or {}).get("spec") or {}).get("selector") or {}
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return bool(selector) and pod["metadata"].get("namespace") == service["metadata"].get("namespace") \
        and all(labels.get(k) == v for k, v in selector.items())


def _container_port(pod, name):
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == name:
                return port.get("containerPort")
    return None


def _node_address(world, node, destination):
    """The address a node's process sends from: loopback to loopback, else its first address of the destination's family."""
    obj = index_of(world).nodes.get(node)
    if obj is None:
        raise ValueError("source node: there is no Node %r" % node)
    target = ipaddress.ip_address(destination)
    if target.is_loopback:
        return str(target)
    family = target.version
    found = [a for a in node_addresses(obj) if ipaddress.ip_address(a).version == family]
    if not found:
        raise ValueError("source node: Node %r has no IPv%d address" % (node, family))
    return found[0]


def resolve_endpoints(world, spec):
    """`pod:any` as source: a pod that is no backend of the destination Service. `pod:<namespace>/<service>` as
    destination: that Service's first backend pod, on the target port of the given service port. `node` as source:
    the ingress node's own address of the destination's family.
    Returns (source, destination, port, ingress_node, source_is_pod) or raises ValueError."""
    source, destination, port, node = spec["source"], spec["destination"], spec["port"], spec["ingress_node"]
    source_is_pod = False
    target_service = None
    if destination.startswith("pod:"):
        target_service = _service(world, destination[4:])
        backends = [p for p in _pods(world) if _selected(p, target_service)]
        if not backends:
            raise ValueError("%s: the Service has no backend pod" % destination)
        service_port = next((p for p in target_service["spec"].get("ports") or [] if p.get("port") == port), None)
        if service_port is None:
            raise ValueError("%s: %s is not a port of the Service" % (destination, port))
        target = service_port.get("targetPort", port)
        port = int(target) if str(target).isdigit() else _container_port(backends[0], target)
        destination = backends[0]["status"]["podIP"]
    else:
        target_service = next((s for s in world.services if destination in ((s.get("spec") or {}).get("clusterIPs") or [])), None)
    if source == "node":
        source = _node_address(world, node, destination)
    elif source == "pod:any":
        clients = [p for p in _pods(world) if not _selected(p, target_service)]
        if not clients:
            raise ValueError("no pod to act as an in-cluster client")
        source, node, source_is_pod = clients[0]["status"]["podIP"], clients[0]["spec"].get("nodeName") or node, True
    return source, destination, port, node, source_is_pod


def check_spec(world, spec):
    """Inputs the evaluator would otherwise read silently (an unknown protocol matches no rule) or misreport."""
    if proto_number(spec.get("protocol") or "TCP") is None:
        raise ValueError("protocol %r is not TCP, UDP or SCTP" % spec.get("protocol"))
    if not 1 <= spec["port"] <= 65535:
        raise ValueError("port %s is not a port number (1 to 65535)" % spec["port"])
    if spec["source"].startswith("pod:") and spec["source"] != "pod:any":
        raise ValueError("source %r: the only pod source is pod:any (or give the pod's IP address)" % spec["source"])
    if spec["destination"].startswith("pod:"):
        key = spec["destination"][4:]
        if "/" not in key:
            raise ValueError("destination %r: write pod:<namespace>/<service>" % spec["destination"])
        if _service(world, key) is None:
            raise ValueError("destination %r: there is no Service %s" % (spec["destination"], key))
    nodes = index_of(world).nodes
    if nodes and spec["ingress_node"] not in nodes:
        raise ValueError("ingress_node %r is not a Node (nodes: %s)" % (spec["ingress_node"], ", ".join(sorted(nodes))))


def check_flow(world, spec):
    check_spec(world, spec)
    source, destination, port, node, source_is_pod = resolve_endpoints(world, spec)
    flow = Flow(source_ip=source, destination_ip=destination, port=port, protocol=spec.get("protocol") or "TCP",
                ingress_node=node, ingress_interface=spec.get("interface") or "eth0", source_is_pod=source_is_pod,
                source_is_host=spec["source"] == "node")
    verdicts = evaluate_all(world, flow)
    # A client must get the same answer whichever backend kube-proxy picks: every case has to meet the expectation.
    allowed_all = all(v.allowed for v in verdicts)
    denied_all = not any(v.allowed for v in verdicts)
    expect = spec.get("expect")
    ok = expect is None or (expect == "allow" and allowed_all) or (expect == "deny" and denied_all)
    name = spec.get("name") or "%s %s -> %s:%s via %s" % (flow.protocol, spec["source"], spec["destination"], spec["port"], spec["ingress_node"])
    return dict(name=name, expect=expect, ok=ok, allowed=allowed_all, denied=denied_all,
                verdicts=[dict(backend=v.backend, allowed=v.allowed, decided_by=v.decided_by, explanation=explain(v))
                          for v in verdicts])


def mismatch_line(result):
    wrong = [v for v in result["verdicts"] if v["allowed"] != (result["expect"] == "allow")]
    detail = "; ".join("%s backend %s by %s" % (v["backend"], "allowed" if v["allowed"] else "denied", v["decided_by"]) for v in wrong)
    return "%s: expected %s, %s" % (result["name"], result["expect"], detail)
