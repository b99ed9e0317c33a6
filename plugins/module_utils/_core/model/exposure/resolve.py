# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Exposure resolution: config items against the live cluster -> resolved exposures, or the reasons they cannot be.

Private to this collection: no stability promise. Pure: no I/O. Every rule that compares what is asked with what
the cluster holds lives here (cluster IPs, service ranges, ports, failsafes, reused IPs, advertised ranges).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model import selector as selectors
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model import validation as v
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure.params import LOCAL_MODE_TYPES, by_family, family, overlap_problems
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.nodes import node_addresses
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.ownership import labels_of


@dataclass
class Exposure:
    """One Service's exposure, resolved against the live Service: what rendering and the result need."""

    key: str
    namespace: str
    name: str
    uid: str
    mode: str  # cluster | local, never auto
    type: str
    cluster_ips: list
    ip_by_family: dict  # 4/6 -> cluster IP
    sources: dict  # 4/6 -> allowed source CIDRs
    source_list: list  # as given
    ports: list  # dicts: port, protocol, name, target_port
    port_refs: list  # as given (None: every port)
    pod_selector: str
    allow_cluster_clients: bool
    allow_any_source: bool


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
        ranges = ctx.service_ranges[family(ip)]
        if not any(ipaddress.ip_address(ip) in ipaddress.ip_network(r) for r in ranges):
            known = ", ".join(ctx.service_ranges[4] + ctx.service_ranges[6]) or "none"
            problems.append("cluster IP %s is in no known service range (known: %s), so nothing would deny the rest of "
                            "its family; give service_cidrs" % (ip, known))
    if problems:
        return None, problems
    selector = selectors.from_match_labels(spec["selector"])
    return Exposure(
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
    for port in exposure.ports:
        origin = failsafe_ports.get((port["protocol"].lower(), port["port"]))
        if origin:
            problems.append(
                "service port %s/%s is a Felix failsafe port (%s): failsafes accept it before any policy, so clients outside "
                "the listed sources could reach it through every node. Use another service port, remove it from the "
                "failsafes, or set allow_failsafe_ports: true to accept that" % (port["port"], port["protocol"], origin))
    return problems


def record_for(exposure, item):
    return dict(
        namespace=exposure.namespace,
        name=exposure.name,
        uid=exposure.uid,
        cluster_ips=exposure.cluster_ips,
        sources=exposure.source_list,
        ports=exposure.port_refs,
        mode=item.get("mode") or "auto",
        allow_cluster_clients=exposure.allow_cluster_clients,
        allow_any_source=exposure.allow_any_source,
    )


@dataclass
class RenderContext:
    """What rendering needs besides the exposures themselves."""

    owner: str
    name_prefix: str
    node_selector: str
    nodeport_range: str
    service_ranges: dict  # 4/6 -> CIDRs
    pod_cidrs: dict  # 4/6 -> CIDRs
    node_addresses: list  # every node address, IPv4 first; empty when unknown (rendered without node_addresses)


def context(params, owner, service_ranges, pod_ranges, node_addresses=None):
    return RenderContext(owner=owner, name_prefix=params["name_prefix"], node_selector=params["node_selector"],
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


# -- what the cluster must hold for the target exposures to be safe ------------------------------------

def discover_service_ranges(given, service_cidr_objects, bgp_default):
    """(ranges, where they came from): given, else the ServiceCIDR API, else BGPConfiguration default .spec.serviceClusterIPs."""
    if given:
        return list(given), "given"
    cidrs = []
    for obj in service_cidr_objects:
        cidrs.extend(c for c in (obj.get("spec") or {}).get("cidrs") or [] if c not in cidrs)
    if cidrs:
        return cidrs, "ServiceCIDR"
    cidrs = advertised_ranges(bgp_default)
    return cidrs, "BGPConfiguration default" if cidrs else None


def discover_pod_ranges(given, ippools):
    """Given, else every IPPool that serves workloads, disabled ones included: pods keep their addresses."""
    if given:
        return list(given)
    cidrs = []
    for pool in ippools:
        spec = pool.get("spec") or {}
        uses = spec.get("allowedUses") or ["Workload", "Tunnel"]
        if "Workload" in uses and spec.get("cidr") and spec["cidr"] not in cidrs:
            cidrs.append(spec["cidr"])
    return cidrs


def advertised_ranges(bgp_default):
    """The service ranges Calico advertises over BGP (BGPConfiguration default .spec.serviceClusterIPs)."""
    return [entry.get("cidr") for entry in ((bgp_default or {}).get("spec") or {}).get("serviceClusterIPs") or [] if entry.get("cidr")]


def range_problems(service_ranges, pod_ranges):
    """Without a service range nothing denies unlisted clients; without a pod range in-cluster clients are cut."""
    problems = []
    if not service_ranges:
        problems.append("service_cidrs: no service cluster IP range found (no ServiceCIDR objects, no serviceClusterIPs in "
                        "BGPConfiguration default); give service_cidrs, or the explicit deny that keeps unlisted clients out "
                        "cannot be written")
    if not pod_ranges:
        problems.append("pod_cidrs: no IPPool serves workloads; give pod_cidrs")
    problems.extend("pod_cidrs: %s" % p for p in overlap_problems(pod_ranges, service_ranges))
    return problems


def nodes_inside_service_ranges(nodes, service_ranges):
    """A node address inside a service range: the deny of that range would also cut traffic to the node."""
    problems = []
    for node in nodes:
        for ip in node_addresses(node):
            inside = [c for c in service_ranges if family(c) == family(ip) and ipaddress.ip_address(ip) in ipaddress.ip_network(c)]
            if inside:
                problems.append("node %s has address %s inside the service range %s: the deny of that range would also cut "
                                "traffic to the node; the service range or the node addresses are wrong"
                                % (node["metadata"]["name"], ip, inside[0]))
    return problems


def recreated_warnings(current, exposures):
    """Services whose cluster IPs or uid changed since their record was written: re-pinned, and users should know."""
    warnings = []
    for exposure in exposures:
        previous = current.get(exposure.key)
        if previous and (previous.get("cluster_ips") != exposure.cluster_ips or previous.get("uid") != exposure.uid):
            warnings.append("Service %s was recreated (cluster IPs %s, now %s): its exposure is re-pinned"
                            % (exposure.key, ", ".join(previous.get("cluster_ips") or []), ", ".join(exposure.cluster_ips)))
    return warnings


def unadvertised_problems(exposures, advertised, where):
    """Cluster IPs outside every advertised range: Calico does not announce them, so exposing them reaches no one."""
    problems = []
    for exposure in exposures:
        for ip in exposure.cluster_ips:
            if any(ipaddress.ip_address(ip) in ipaddress.ip_network(c) for c in advertised if family(c) == family(ip)):
                continue
            problems.append("%s: cluster IP %s of Service %s is outside every serviceClusterIPs range of BGPConfiguration default "
                            "(%s): Calico does not advertise it (unless calico-node's CALICO_ADVERTISE_CLUSTER_IPS overrides that "
                            "setting)" % (where(exposure.key), ip, exposure.key, ", ".join(advertised) or "none configured"))
    return problems


def cluster_ip_holders(services):
    """Canonical cluster IP -> the key of the Service that holds it now."""
    holders = {}
    for key, service in services.items():
        for ip in cluster_ips_of(service):
            holders[v.canonical_ip(ip)] = key
    return holders


def host_policy_delete_problem(hostendpoints, node_selector):
    """The host-traffic policy keeps selected HostEndpoints usable: deleting it first would cut those nodes off."""
    selector = selectors.parse(node_selector)
    still = sorted(h["metadata"]["name"] for h in hostendpoints if selector.matches(labels_of(h)))
    if not still:
        return None
    return ("the host-traffic policy cannot be deleted while HostEndpoints it keeps usable still exist (%s): "
            "without it Calico denies those nodes' traffic. Delete the HostEndpoints first "
            "(calico_hostendpoint state=deleted), then the policies" % ", ".join(still))
