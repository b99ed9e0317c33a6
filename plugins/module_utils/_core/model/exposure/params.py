# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Cluster-IP exposure parameters: the names and labels this collection writes, validation of every parameter
before the first request, the exposure records kept on the pod policies, and the state algebra at Service level.

Private to this collection: no stability promise. Pure: no I/O. Next in the flow: resolve.py (against the live
cluster), then render.py (the policies).
"""

from __future__ import annotations

import ipaddress
import json

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model import selector as selectors
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model import validation as v
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.ownership import OWNER_LABEL, labels_of

COMPONENT_LABEL = "clusteredge.calico/component"
COMPONENT = "clusterip-exposure"
RULE_SERVICE_ANNOTATION = "clusteredge.calico/service"
RECORD_ANNOTATION = "clusteredge.calico/exposure"
PIN_ANNOTATION = "clusteredge.calico/pinned-cluster-ips"
PINNED_BY_ANNOTATION = "clusteredge.calico/pinned-by"
NODE_SET_LABEL = "clusteredge.calico/node-addresses"

DEFAULT_NODEPORT_RANGE = "30000:32767"
RULES_PER_POLICY = 100
# Explicit orders everywhere: an unnumbered policy sorts after every numbered one (SPEC §13.7).
ORDER_PRE_DNAT_ALLOW = 10
ORDER_PRE_DNAT_DENY = 20
ORDER_POD_POLICY = 1000
# Last among host policies: a stricter host policy of the user's, with a lower order, still decides first.
ORDER_HOST_TRAFFIC = 10000

MODES = ("auto", "cluster", "local")
EXPOSABLE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
LOCAL_MODE_TYPES = ("NodePort", "LoadBalancer")


def family(text):
    return ipaddress.ip_network(text, strict=False).version


def host_net(ip):
    return "%s/%d" % (ip, 32 if family(ip) == 4 else 128)


def by_family(cidrs):
    result = {4: [], 6: []}
    for cidr in cidrs or []:
        result[family(cidr)].append(cidr)
    return result


def service_key(namespace, name):
    return "%s/%s" % (namespace, name)


# -- validation of parameters (before any request) -------------------------------------------------

def _check_service_name(value):
    problem = v.check_dns_label(value)
    if problem:
        return problem
    if not value[0].isalpha():
        return "must start with a letter (Service names are DNS-1035 labels)"
    return None


def _port_ref_problem(ref):
    if isinstance(ref, bool):
        return "%r is not a port number or name" % (ref,)
    if isinstance(ref, int):
        return v.check_port_number(ref)
    if isinstance(ref, str):
        if ref.isdigit():
            return v.check_port_number(int(ref))
        return v.check_port_name(ref)
    return "%r is not a port number or name" % (ref,)


def _sources_problems(item, needs_sources):
    sources = item.get("sources")
    if sources is None or sources == []:
        if needs_sources:
            yield "sources", "give at least one allowed source network (CIDR)"
        return
    seen = set()
    for position, cidr in enumerate(sources):
        problem = v.check_cidr(cidr)
        if problem:
            yield "sources[%d]" % position, problem
            continue
        network = ipaddress.ip_network(cidr)
        if network.prefixlen == 0 and not item.get("allow_any_source"):
            yield "sources[%d]" % position, ("%s allows every address; set allow_any_source: true if the Service really "
                                             "must be open to the whole world" % cidr)
        if network in seen:
            yield "sources[%d]" % position, "%s is listed twice" % cidr
        seen.add(network)


def _service_override_problems(service):
    ips = service.get("cluster_ips") or []
    if not 1 <= len(ips) <= 2:
        yield "service.cluster_ips", "give one cluster IP, or two (one per family) for a dual-stack Service"
    families = []
    for position, ip in enumerate(ips):
        problem = v.check_ip_address(ip)
        if problem:
            yield "service.cluster_ips[%d]" % position, problem
        else:
            families.append(family(ip))
    if len(families) == 2 and families[0] == families[1]:
        yield "service.cluster_ips", "a dual-stack Service has one cluster IP per family"
    if service.get("type") not in EXPOSABLE_TYPES + ("ExternalName",):
        yield "service.type", "must be ClusterIP, NodePort, LoadBalancer or ExternalName"
    if service.get("external_traffic_policy") not in ("Cluster", "Local"):
        yield "service.external_traffic_policy", "must be Cluster or Local"
    selector = service.get("selector")
    problem = v.check_labels(selector) if selector else "must be a non-empty map of pod labels"
    if problem:
        yield "service.selector", problem
    names = set()
    for position, port in enumerate(service.get("ports") or []):
        for problem in (v.check_port_number(port.get("port")), v.check_port_protocol(port.get("protocol"))):
            if problem:
                yield "service.ports[%d]" % position, problem
        target = port.get("target_port")
        if target is not None:
            problem = _port_ref_problem(target)
            if problem:
                yield "service.ports[%d].target_port" % position, problem
        if port.get("name") and port["name"] in names:
            yield "service.ports[%d]" % position, "port name %r is listed twice" % port["name"]
        names.add(port.get("name"))
    if not service.get("ports"):
        yield "service.ports", "give the Service's ports"


def _item_problems(item, state):
    for field, checker in (("namespace", v.check_dns_label), ("name", _check_service_name)):
        problem = checker(item.get(field))
        if problem:
            yield field, problem
    if state in ("deleted", "gathered"):
        return
    yield from _sources_problems(item, needs_sources=state != "merged")
    seen = set()
    for position, ref in enumerate(item.get("ports") or []):
        problem = _port_ref_problem(ref)
        if problem:
            yield "ports[%d]" % position, problem
        elif str(ref) in seen:
            yield "ports[%d]" % position, "port %r is listed twice" % (ref,)
        seen.add(str(ref))
    if item.get("ports") == []:
        yield "ports", "leave ports out to expose every port of the Service, or list at least one"
    if item.get("cluster_ip") is not None:
        problem = v.check_ip_address(item["cluster_ip"])
        if problem:
            yield "cluster_ip", problem
    if item.get("service") is not None:
        if state != "rendered":
            yield "service", "is only for state=rendered; every other state reads the Service from the cluster"
        else:
            yield from _service_override_problems(item["service"])
    elif state == "rendered":
        yield "service", "state=rendered reads no cluster: give the Service's cluster_ips, selector and ports here"


def _check_ranges(name, cidrs):
    for position, cidr in enumerate(cidrs or []):
        problem = v.check_cidr(cidr)
        if problem:
            yield "%s[%d]: %s" % (name, position, problem)


def overlap_problems(pod_cidrs, service_cidrs):
    """Pod and service ranges must not overlap (SPEC §9): the deny of one would cut the other."""
    for pod in pod_cidrs:
        for svc in service_cidrs:
            pod_net, svc_net = ipaddress.ip_network(pod), ipaddress.ip_network(svc)
            if pod_net.version == svc_net.version and pod_net.overlaps(svc_net):
                yield "pod range %s overlaps service range %s" % (pod, svc)


# Labels every Calico workload endpoint (pod) carries (SPEC §4).
_TYPICAL_POD_LABELS = {"projectcalico.org/namespace": "default", "projectcalico.org/orchestrator": "k8s",
                       "projectcalico.org/serviceaccount": "default", "app": "web"}


def selects_workloads(selector):
    """True when a host-policy selector would also pick pods: it matches no labels at all, or a plain pod's labels."""
    parsed = selectors.parse(selector)
    return parsed.matches({}) or parsed.matches(_TYPICAL_POD_LABELS, namespaced=True)


def validate_params(params):
    """Every problem with the module parameters, each naming the item and field; empty when all are valid."""
    state = params["state"]
    items = params.get("config") or []
    errors = []
    seen = {}
    for index, item in enumerate(items):
        where = "config[%d] (Service %s)" % (index, service_key(item.get("namespace"), item.get("name")))
        for field, reason in _item_problems(item, state):
            errors.append("%s: %s: %s" % (where, field, reason))
        key = service_key(item.get("namespace"), item.get("name"))
        if key in seen:
            errors.append("%s: duplicate of config[%d]; each Service may appear once per call" % (where, seen[key]))
        else:
            seen[key] = index
    selector = params.get("node_selector")
    if selector is not None:
        problem = selectors.check(selector)
        if problem:
            errors.append("node_selector: %s" % problem)
        elif selects_workloads(selector):
            errors.append("node_selector: %r also selects pods (it matches an endpoint with no labels, or an ordinary pod); "
                          "it must select only the node HostEndpoints, e.g. k8s-role == 'node'" % selector)
    for name in ("service_cidrs", "pod_cidrs"):
        errors.extend(_check_ranges(name, params.get(name)))
    if not errors and params.get("service_cidrs") and params.get("pod_cidrs"):
        errors.extend("pod_cidrs: %s" % p for p in overlap_problems(params["pod_cidrs"], params["service_cidrs"]))
    for position, address in enumerate(params.get("node_addresses") or []):
        try:
            ipaddress.ip_address(address)
        except ValueError:
            errors.append("node_addresses[%d]: %r is not an IPv4 or IPv6 address" % (position, address))
    if params.get("node_addresses") and state != "rendered":
        errors.append("node_addresses: only state=rendered takes them; the other states read them from the Nodes")
    if state == "rendered":
        for name in ("service_cidrs", "pod_cidrs"):
            if not params.get(name):
                errors.append("%s: state=rendered reads no cluster: give the %s ranges" % (name, name.split("_", maxsplit=1)[0]))
    nodeports = params.get("nodeport_range") or ""
    low, sep, high = nodeports.partition(":")
    if not (sep and low.isdigit() and high.isdigit() and not low.startswith("0") and not high.startswith("0")
            and 1 <= int(low) <= int(high) <= 65535):
        errors.append("nodeport_range: %r must be 'first:last' port numbers, e.g. 30000:32767" % nodeports)
    prefix_problem = v.check_dns_label(params.get("name_prefix"), max_len=40)
    if prefix_problem:
        errors.append("name_prefix: %s" % prefix_problem)
    return errors


# -- the exposure records kept on the pod policies -------------------------------------------------

def record_of(network_policy):
    """The exposure record this collection stored on one of its pod policies, or None."""
    raw = ((network_policy.get("metadata") or {}).get("annotations") or {}).get(RECORD_ANNOTATION)
    if not raw:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("namespace") and record.get("name") else None


def record_as_item(record):
    """A record in `config` shape (what gathered, before and after return)."""
    return dict(
        namespace=record["namespace"],
        name=record["name"],
        sources=list(record.get("sources") or []),
        ports=record.get("ports"),
        cluster_ip=(record.get("cluster_ips") or [None])[0],
        mode=record.get("mode"),
        allow_cluster_clients=record.get("allow_cluster_clients", True),
        allow_any_source=record.get("allow_any_source", False),
    )


def _union(first, second):
    result = list(first or [])
    result.extend(x for x in second or [] if x not in result)
    return result


def _kept_item(record):
    """A live record carried into this run: its pinned IP is history, not an expectation to enforce."""
    return dict(record_as_item(record), cluster_ip=None)


def target_items(state, items, current):
    """The Services to be exposed after this run, as config items, from the state algebra at Service level.

    `current` maps Service keys to the live records. Items override records; merged adds to them.
    """
    wanted = dict((service_key(i["namespace"], i["name"]), i) for i in items)
    if state == "overridden":
        return dict(wanted)
    if state == "deleted":
        if not items:
            return {}
        return dict((key, _kept_item(rec)) for key, rec in current.items() if key not in wanted)
    target = dict((key, _kept_item(rec)) for key, rec in current.items())
    for key, item in wanted.items():
        previous = target.get(key)
        if state == "merged" and previous is not None:
            merged = dict(previous)
            merged["sources"] = _union(previous.get("sources"), item.get("sources"))
            if previous.get("ports") is not None and item.get("ports") is not None:
                merged["ports"] = _union(previous["ports"], item["ports"])
            else:
                merged["ports"] = None  # one side exposes every port already
            for field in ("cluster_ip", "mode", "allow_cluster_clients"):
                if item.get(field) is not None:
                    merged[field] = item[field]
            merged["allow_any_source"] = item.get("allow_any_source") or previous.get("allow_any_source", False)
            merged["repin"] = item.get("repin", False)
            target[key] = merged
        else:
            target[key] = item
    return target


def owned_component(obj, owner):
    """An object this owner wrote for cluster-IP exposure (not one of its HostEndpoints, not a user's)."""
    labels = labels_of(obj)
    return labels.get(OWNER_LABEL) == owner and labels.get(COMPONENT_LABEL) == COMPONENT


def current_records(network_policies, owner):
    """Service key -> the exposure record this owner keeps on its pod policy: what is exposed now."""
    current = {}
    for policy in network_policies:
        record = record_of(policy) if owned_component(policy, owner) else None
        if record:
            current[service_key(record["namespace"], record["name"])] = record
    return current
