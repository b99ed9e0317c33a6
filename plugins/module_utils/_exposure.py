# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Cluster-IP exposure model: Services + allowed sources -> the Calico policies that protect them.

Private to this collection: no stability promise. Pure: no I/O. `_exposure_runner.py` reads the
cluster, calls in here, and writes what the shared state algebra says changed.

What is rendered, and why it differs from the guide's literal text, is in docs/clusterip-exposure.md.
"""

from __future__ import annotations

import ipaddress
import json

from ansible_collections.clusteredge.calico.plugins.module_utils import _selector
from ansible_collections.clusteredge.calico.plugins.module_utils import _validation as v
from ansible_collections.clusteredge.calico.plugins.module_utils._resources import CALICO_API_VERSION
from ansible_collections.clusteredge.calico.plugins.module_utils._state import OWNER_LABEL

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

SERVICE_PORT_SPEC = dict(
    name=dict(type="str"),
    port=dict(type="int", required=True),
    protocol=dict(type="str", default="TCP"),
    target_port=dict(type="raw"),
)

CONFIG_ITEM_SPEC = dict(
    namespace=dict(type="str", required=True),
    name=dict(type="str", required=True),
    sources=dict(type="list", elements="str"),
    ports=dict(type="list", elements="raw"),
    cluster_ip=dict(type="str"),
    mode=dict(type="str", choices=list(MODES)),
    allow_cluster_clients=dict(type="bool"),
    allow_any_source=dict(type="bool", default=False),
    repin=dict(type="bool", default=False),
    allow_failsafe_ports=dict(type="bool", default=False),
    service=dict(
        type="dict",
        options=dict(
            cluster_ips=dict(type="list", elements="str", required=True),
            type=dict(type="str", default="ClusterIP"),
            external_traffic_policy=dict(type="str", default="Cluster"),
            selector=dict(type="dict", required=True),
            ports=dict(type="list", elements="dict", options=SERVICE_PORT_SPEC, required=True),
        ),
    ),
)


class ExposureError(Exception):
    """Inputs that cannot be applied to the cluster as it is; nothing has been written."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


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
    parsed = _selector.parse(selector)
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
        problem = _selector.check(selector)
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


# -- resolution against live Services --------------------------------------------------------------

def service_from_override(item):
    """A Service object built from `config[].service`, so rendered goes through the same resolution."""
    spec = item["service"]
    ports = []
    for port in spec["ports"]:
        entry = {"port": port["port"], "protocol": v.canonical_port_protocol(port.get("protocol") or "TCP")}
        if port.get("name"):
            entry["name"] = port["name"]
        if port.get("target_port") is not None:
            entry["targetPort"] = port["target_port"]
        ports.append(entry)
    return {
        "metadata": {"namespace": item["namespace"], "name": item["name"]},
        "spec": {"type": spec.get("type") or "ClusterIP", "clusterIP": spec["cluster_ips"][0], "clusterIPs": list(spec["cluster_ips"]),
                 "selector": dict(spec["selector"]), "ports": ports,
                 "externalTrafficPolicy": spec.get("external_traffic_policy") or "Cluster"},
    }


def cluster_ips_of(service):
    spec = service.get("spec") or {}
    ips = [ip for ip in spec.get("clusterIPs") or [spec.get("clusterIP")] if ip and ip != "None"]
    return ips


def _port_label(port):
    return "%s/%s%s" % (port["port"], port.get("protocol") or "TCP", " (%s)" % port["name"] if port.get("name") else "")


def _select_ports(service, refs):
    """The Service ports an item exposes, or the reason one of `refs` is not a port of the Service."""
    ports = [dict(p, protocol=p.get("protocol") or "TCP") for p in (service.get("spec") or {}).get("ports") or []]
    if refs is None:
        return ports, None
    chosen = []
    for ref in refs:
        text = str(ref)
        matches = [p for p in ports if str(p["port"]) == text or p.get("name") == text]
        if not matches:
            return None, "port %r is not a port of the Service (its ports: %s)" % (ref, ", ".join(_port_label(p) for p in ports))
        chosen.extend(m for m in matches if m not in chosen)
    return chosen, None


def _target_port(port):
    target = port.get("targetPort")
    if target is None or target == "":
        return port["port"]
    if isinstance(target, str) and target.isdigit():
        return int(target)
    return target  # a named container port: Calico resolves it on the pods (SPEC §3.2)


def resolve(key, item, service, ctx):
    """One Service's exposure, fully resolved, or (None, [reasons]) when it cannot be exposed."""
    problems = []
    spec = service.get("spec") or {}
    svc_type = spec.get("type") or "ClusterIP"
    if svc_type == "ExternalName":
        return None, ["is an ExternalName Service: it has no cluster IP to advertise or protect"]
    ips = cluster_ips_of(service)
    if not ips:
        return None, ["is headless (clusterIP: None): there is no cluster IP to advertise or protect"]
    if not spec.get("selector"):
        return None, ["has no selector: its endpoints are managed by hand, so no pod policy can select its pods"]
    expected = item.get("cluster_ip")
    if expected and v.canonical_ip(expected) != v.canonical_ip(ips[0]):
        problems.append("expected cluster IP %s but the Service has %s; spec.clusterIP is immutable, so fix the "
                        "expectation (the module never deletes or recreates a Service)" % (expected, ips[0]))
    etp = spec.get("externalTrafficPolicy") or "Cluster"
    mode = item.get("mode") or "auto"
    if mode == "auto":
        mode = "local" if etp == "Local" else "cluster"
    elif mode == "local":
        if svc_type not in LOCAL_MODE_TYPES:
            problems.append("mode local needs a NodePort or LoadBalancer Service (externalTrafficPolicy: Local exists only "
                            "for those); this one is %s" % svc_type)
        elif etp != "Local":
            problems.append("mode local but the Service's externalTrafficPolicy is %s" % etp)
    ports, port_problem = _select_ports(service, item.get("ports"))
    if port_problem:
        problems.append(port_problem)
    ip_by_family = dict((family(ip), ip) for ip in ips)
    sources = by_family(item.get("sources"))
    for fam in (4, 6):
        if sources[fam] and fam not in ip_by_family:
            problems.append("IPv%d sources %s but the Service has no IPv%d cluster IP" % (fam, ", ".join(sources[fam]), fam))
    for ip in ips:
        ranges = ctx["service_ranges"][family(ip)]
        if not any(ipaddress.ip_address(ip) in ipaddress.ip_network(r) for r in ranges):
            known = ", ".join(ctx["service_ranges"][4] + ctx["service_ranges"][6]) or "none"
            problems.append("cluster IP %s is in no known service range (known: %s), so nothing would deny the rest of "
                            "its family; give service_cidrs" % (ip, known))
    if problems:
        return None, problems
    selector = _selector.from_match_labels(spec["selector"])
    return dict(
        key=key,
        namespace=item["namespace"],
        name=item["name"],
        uid=(service.get("metadata") or {}).get("uid"),
        mode=mode,
        type=svc_type,
        cluster_ips=ips,
        ip_by_family=ip_by_family,
        sources=sources,
        source_list=list(item.get("sources") or []),
        ports=[dict(port=p["port"], protocol=p["protocol"], name=p.get("name"), target_port=_target_port(p)) for p in ports],
        port_refs=item.get("ports"),
        pod_selector=selector,
        allow_cluster_clients=item.get("allow_cluster_clients") is not False,
        allow_any_source=bool(item.get("allow_any_source")),
    ), []


def reuse_problems(current, target, owners_by_ip, items_by_key):
    """Fail loudly when a previously exposed cluster IP now belongs to another Service (a stale rule would expose it)."""
    problems = []
    for key, record in sorted(current.items()):
        if key not in target:
            continue  # this run removes the old exposure
        for ip in record.get("cluster_ips") or []:
            holder = owners_by_ip.get(v.canonical_ip(ip))
            if holder is None or holder == key:
                continue
            if items_by_key.get(key, {}).get("repin"):
                continue
            problems.append(
                "cluster IP %s was exposed for %s (sources %s) and now belongs to %s: the existing allow rule exposes %s "
                "right now. Remove the stale exposure with state=deleted for %s, or list %s with repin: true to move its "
                "exposure to its current cluster IP"
                % (ip, key, ", ".join(record.get("sources") or []), holder, holder, key, key))
    return problems


def failsafe_problems(exposure, item, failsafe_ports):
    """Service ports that Felix failsafes accept ahead of the pre-DNAT deny (SPEC §6, §13.5), unless accepted."""
    if item.get("allow_failsafe_ports"):
        return []
    problems = []
    for port in exposure["ports"]:
        origin = failsafe_ports.get((port["protocol"].lower(), port["port"]))
        if origin:
            problems.append(
                "service port %s/%s is a Felix failsafe port (%s): failsafes accept it before any policy, so clients outside "
                "the listed sources could reach it through every node. Use another service port, remove it from the "
                "failsafes, or set allow_failsafe_ports: true to accept that" % (port["port"], port["protocol"], origin))
    return problems


def record_for(exposure, item):
    return dict(
        namespace=exposure["namespace"],
        name=exposure["name"],
        uid=exposure["uid"],
        cluster_ips=exposure["cluster_ips"],
        sources=exposure["source_list"],
        ports=exposure["port_refs"],
        mode=item.get("mode") or "auto",
        allow_cluster_clients=exposure["allow_cluster_clients"],
        allow_any_source=exposure["allow_any_source"],
    )


def context(params, owner, service_ranges, pod_ranges, node_addresses=None):
    """What rendering needs besides the exposures themselves."""
    return dict(owner=owner, name_prefix=params["name_prefix"], node_selector=params["node_selector"],
                nodeport_range=params["nodeport_range"], service_ranges=by_family(service_ranges),
                pod_cidrs=by_family(pod_ranges), node_addresses=sorted(node_addresses or [], key=_address_order))


def _address_order(ip):
    address = ipaddress.ip_address(ip)
    return (address.version, address)


def resolve_all(target, items_by_key, services, ctx, errors, warnings, kept_only_note):
    """Resolve every target exposure; config items that cannot be resolved are errors, stale records warnings."""
    exposures = []
    records = {}
    for key in sorted(target):
        item = target[key]
        service = services.get(key)
        where = "config[%d] (Service %s)" % (items_by_key[key][0], key) if key in items_by_key else "Service %s" % key
        if service is None:
            if key in items_by_key:
                errors.append("%s: %s" % (where, kept_only_note(key)))
            else:
                warnings.append("Service %s no longer exists: its exposure is removed so that no rule keeps allowing "
                                "traffic to a cluster IP it no longer owns" % key)
            continue
        exposure, problems = resolve(key, item, service, ctx)
        errors.extend("%s: %s" % (where, p) for p in problems)
        if exposure:
            exposures.append(exposure)
            records[key] = record_for(exposure, item)
    return exposures, records


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
        if not exposure["sources"][fam]:
            continue
        for protocol, ports in _by_protocol(exposure["ports"], "port"):
            rules.append({
                "action": "Allow",
                "protocol": protocol,
                "source": {"nets": list(exposure["sources"][fam])},
                "destination": {"nets": [host_net(exposure["ip_by_family"][fam])], "ports": ports},
                "metadata": {"annotations": {RULE_SERVICE_ANNOTATION: exposure["key"]}},
            })
    return rules


def _family_rules(cidrs_by_family, build):
    return [build(fam, cidrs) for fam, cidrs in sorted(cidrs_by_family.items()) if cidrs]


def pod_policy(exposure, ctx):
    """Namespaced policy on the Service's pods: nodes (SNAT), listed sources, in-cluster clients; target ports."""
    rules = []
    for protocol, targets in _by_protocol(exposure["ports"], "target_port"):
        destination = {"ports": targets}
        rules.append({"action": "Allow", "protocol": protocol,
                      "source": {"selector": ctx["node_selector"], "namespaceSelector": "global()"},
                      "destination": dict(destination)})
        if ctx.get("node_addresses"):
            rules.append({"action": "Allow", "protocol": protocol,
                          "source": {"selector": node_set_selector(ctx["name_prefix"]), "namespaceSelector": "global()"},
                          "destination": dict(destination)})
        for fam in (4, 6):
            if exposure["sources"][fam]:
                rules.append({"action": "Allow", "protocol": protocol, "source": {"nets": list(exposure["sources"][fam])},
                              "destination": dict(destination)})
        if exposure["allow_cluster_clients"]:
            for fam in (4, 6):
                if ctx["pod_cidrs"][fam]:
                    rules.append({"action": "Allow", "protocol": protocol, "source": {"nets": list(ctx["pod_cidrs"][fam])},
                                  "destination": dict(destination)})
    spec = {"order": ORDER_POD_POLICY, "selector": exposure["pod_selector"], "types": ["Ingress"], "ingress": rules}
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
    owner = ctx["owner"]
    prefix = ctx["name_prefix"]
    node_selector = ctx["node_selector"]
    gnps = []
    nps = []
    if not exposures:
        return gnps, nps
    groups = [(exposure["key"], cluster_ip_rules(exposure)) for exposure in exposures]
    placement = assign_chunks(groups, chunks_in_use(live_gnps, prefix))
    for chunk in range(max(placement.values()) + 1):
        rules = [rule for key, group in groups if placement[key] == chunk for rule in group]
        gnps.append(_policy("GlobalNetworkPolicy", allow_policy_name(prefix, chunk), owner,
                            _pre_dnat(node_selector, rules, ORDER_PRE_DNAT_ALLOW)))
    pods = ctx["pod_cidrs"]
    services = ctx["service_ranges"]
    to_pods = _family_rules(pods, lambda fam, cidrs: {"action": "Allow", "destination": {"nets": list(cidrs)}})
    gnps.append(_policy("GlobalNetworkPolicy", "%s-allow-to-pods" % prefix, owner, _pre_dnat(node_selector, to_pods, ORDER_PRE_DNAT_ALLOW)))
    node_sources = [node_selector] + ([node_set_selector(prefix)] if ctx.get("node_addresses") else [])
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
        annotations = {RECORD_ANNOTATION: json.dumps(records[exposure["key"]], sort_keys=True, separators=(",", ":"))}
        nps.append(_policy("NetworkPolicy", pod_policy_name(prefix, exposure["name"]), owner, pod_policy(exposure, ctx),
                           namespace=exposure["namespace"], annotations=annotations))
    return gnps, nps


def node_network_set(ctx):
    """Every node's InternalIP and tunnel addresses as one GlobalNetworkSet the pod policies trust.

    Pod policy sees a node or tunnel address for SNATed traffic (SPEC §5.4 step 7). Matching it through this set
    works before any HostEndpoint exists and whatever their expectedIPs hold; a node joining rewrites one object.
    """
    addresses = ctx.get("node_addresses") or []
    if not addresses:
        return None
    manifest = _policy("GlobalNetworkSet", "%s-node-addresses" % ctx["name_prefix"], ctx["owner"],
                       {"nets": [host_net(ip) for ip in addresses]})
    manifest["metadata"]["labels"][NODE_SET_LABEL] = ctx["name_prefix"]
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
    nodeports = [ctx["nodeport_range"]]
    ingress = [
        {"action": "Allow", "protocol": "TCP", "destination": {"notPorts": nodeports}},
        {"action": "Allow", "protocol": "UDP", "destination": {"notPorts": nodeports}},
        {"action": "Allow", "protocol": "ICMP"},
        {"action": "Allow", "protocol": "ICMPv6"},
        {"action": "Deny", "protocol": "TCP", "destination": {"ports": nodeports}},
        {"action": "Deny", "protocol": "UDP", "destination": {"ports": nodeports}},
        {"action": "Allow"},
    ]
    return {"order": ORDER_HOST_TRAFFIC, "selector": ctx["node_selector"], "types": ["Ingress", "Egress"],
            "ingress": ingress, "egress": [{"action": "Allow"}]}


def is_host_traffic_policy(obj, prefix):
    return (obj.get("metadata") or {}).get("name") == "%s-allow-traffic-hostendpoints" % prefix


def exposure_summary(exposure):
    """What the result reports per Service."""
    return dict(
        namespace=exposure["namespace"],
        name=exposure["name"],
        mode=exposure["mode"],
        cluster_ips=exposure["cluster_ips"],
        sources=exposure["source_list"],
        ports=[dict(port=p["port"], protocol=p["protocol"], target_port=p["target_port"], name=p["name"]) for p in exposure["ports"]],
        allow_cluster_clients=exposure["allow_cluster_clients"],
    )


# -- node HostEndpoints: do their expectedIPs hold every address the nodes' traffic can carry? ------

NODE_ADDRESS_ANNOTATIONS = (
    "projectcalico.org/IPv4Address",
    "projectcalico.org/IPv6Address",
    "projectcalico.org/IPv4IPIPTunnelAddr",
    "projectcalico.org/IPv4VXLANTunnelAddr",
    "projectcalico.org/IPv6VXLANTunnelAddr",
    "projectcalico.org/IPv4WireguardInterfaceAddr",
    "projectcalico.org/IPv6WireguardInterfaceAddr",
)


def node_addresses(node):
    """InternalIPs plus the BGP and tunnel addresses Calico records on the Node (SPEC §1.5)."""
    found = []
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP" and address.get("address"):
            found.append(address["address"])
    annotations = (node.get("metadata") or {}).get("annotations") or {}
    for key in NODE_ADDRESS_ANNOTATIONS:
        value = annotations.get(key)
        if value:
            found.append(value.split("/")[0])
    result = []
    for ip in found:
        if v.check_ip_address(ip) is None and v.canonical_ip(ip) not in result:
            result.append(v.canonical_ip(ip))
    return result


def node_report(nodes, hostendpoints, node_selector):
    """Per Kubernetes node: the selected HostEndpoints and the node addresses their expectedIPs miss."""
    selector = _selector.parse(node_selector)
    selected = [h for h in hostendpoints if selector.matches(((h.get("metadata") or {}).get("labels") or {}))]
    report = []
    for node in sorted(nodes, key=lambda n: n["metadata"]["name"]):
        name = node["metadata"]["name"]
        heps = [h for h in selected if (h.get("spec") or {}).get("node") == name]
        listed = set()
        for hep in heps:
            listed.update(v.canonical_ip(ip) for ip in (hep.get("spec") or {}).get("expectedIPs") or [] if v.check_ip_address(ip) is None)
        addresses = node_addresses(node)
        report.append(dict(node=name, hostendpoints=sorted(h["metadata"]["name"] for h in heps), addresses=addresses,
                           missing_expected_ips=[ip for ip in addresses if heps and ip not in listed]))
    return report
