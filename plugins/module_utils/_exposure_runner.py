# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Runs calico_clusterip_exposure: validate, read each kind once, resolve, render, plan, write in a safe order.

Private to this collection: no stability promise.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.clusteredge.calico.plugins.module_utils import _cluster_info
from ansible_collections.clusteredge.calico.plugins.module_utils import _exposure as x
from ansible_collections.clusteredge.calico.plugins.module_utils import _resources as r
from ansible_collections.clusteredge.calico.plugins.module_utils import _state
from ansible_collections.clusteredge.calico.plugins.module_utils._applier import ApplyFailed, Step, apply_plan
from ansible_collections.clusteredge.calico.plugins.module_utils._client import ApiError, CalicoClient
from ansible_collections.clusteredge.calico.plugins.module_utils._manifests import RenderedAdapter
from ansible_collections.clusteredge.calico.plugins.module_utils._runner import (
    common_input_errors,
    fail_unapplicable,
    summarise_errors,
)
from ansible_collections.clusteredge.calico.plugins.module_utils._selector import SelectorError, parse as parse_selector
from ansible_collections.clusteredge.calico.plugins.module_utils._validation import canonical_ip


MODULE_OPTIONS = dict(
    node_selector=dict(type="str"),
    service_cidrs=dict(type="list", elements="str"),
    pod_cidrs=dict(type="list", elements="str"),
    node_addresses=dict(type="list", elements="str"),
    nodeport_range=dict(type="str", default=x.DEFAULT_NODEPORT_RANGE),
    name_prefix=dict(type="str", default="clusteredge"),
    require_advertised=dict(type="bool", default=False),
    remove_pins=dict(type="bool", default=True),
)


def default_node_selector(owner):
    """The HostEndpoints calico_hostendpoint created for the same owner."""
    return "%s == '%s'" % (_state.OWNER_LABEL, owner)


class Reads(object):
    """Everything read from the cluster, each kind with one request."""

    def __init__(self, client, params):
        self.profile = client.require_calico_api([r.HOSTENDPOINTS, r.GLOBALNETWORKPOLICIES, r.NETWORKPOLICIES,
                                                  r.GLOBALNETWORKSETS, r.IPPOOLS, r.BGPCONFIGURATIONS, r.FELIXCONFIGURATIONS])
        self.namespace_objects = client.list(r.NAMESPACES)
        self.namespaces = set(o["metadata"]["name"] for o in self.namespace_objects)
        self.services = dict((_state.object_key(o), o) for o in client.list(r.SERVICES))
        self.gnps = client.list(r.GLOBALNETWORKPOLICIES)
        self.network_sets = client.list(r.GLOBALNETWORKSETS)
        self.felix_configs = client.list(r.FELIXCONFIGURATIONS)
        self.nps = client.list(r.NETWORKPOLICIES)
        self.hostendpoints = client.list(r.HOSTENDPOINTS)
        self.nodes = client.list(r.NODES)
        self.ippools = [] if params.get("pod_cidrs") else client.list(r.IPPOOLS)
        self.bgp_default = client.get(r.BGPCONFIGURATIONS, "default")
        self.service_cidr_objects = [] if params.get("service_cidrs") else _list_first_served(client, r.SERVICECIDRS)


def _list_first_served(client, resources):
    for resource in resources:
        try:
            return client.list(resource)
        except ApiError as exc:
            if exc.status not in (403, 404):
                raise
    return []


def advertised_ranges(bgp_default):
    return [entry.get("cidr") for entry in ((bgp_default or {}).get("spec") or {}).get("serviceClusterIPs") or [] if entry.get("cidr")]


def discover_service_ranges(params, reads):
    """Given, else the ServiceCIDR API, else BGPConfiguration default .spec.serviceClusterIPs (SPEC §9)."""
    if params.get("service_cidrs"):
        return list(params["service_cidrs"]), "given"
    cidrs = []
    for obj in reads.service_cidr_objects:
        cidrs.extend(c for c in (obj.get("spec") or {}).get("cidrs") or [] if c not in cidrs)
    if cidrs:
        return cidrs, "ServiceCIDR"
    cidrs = advertised_ranges(reads.bgp_default)
    return cidrs, "BGPConfiguration default" if cidrs else None


def discover_pod_ranges(params, reads):
    """Given, else every IPPool that serves workloads, disabled ones included: pods keep their addresses."""
    if params.get("pod_cidrs"):
        return list(params["pod_cidrs"])
    cidrs = []
    for pool in reads.ippools:
        spec = pool.get("spec") or {}
        uses = spec.get("allowedUses") or ["Workload", "Tunnel"]
        if "Workload" in uses and spec.get("cidr") and spec["cidr"] not in cidrs:
            cidrs.append(spec["cidr"])
    return cidrs


def _owned_component(obj, owner):
    labels = _state.labels_of(obj)
    return labels.get(_state.OWNER_LABEL) == owner and labels.get(x.COMPONENT_LABEL) == x.COMPONENT


def _service_annotation_patches(exposures, current, reads, owner, remove_pins=True):
    """Pin annotations: set on exposed Services, removed from Services this owner no longer exposes."""
    patches = []
    exposed = dict((e["key"], e) for e in exposures)
    # Services pinned by this owner count too: a run that stopped after deleting a Service's policy but before
    # removing its pin leaves no record of it, and the re-run must still remove the pin.
    pinned = set(k for k, s in reads.services.items() if ((s.get("metadata") or {}).get("annotations") or {}).get(x.PINNED_BY_ANNOTATION) == owner)
    for key in sorted(set(exposed) | set(current) | pinned):
        service = reads.services.get(key)
        if service is None:
            continue
        annotations = (service.get("metadata") or {}).get("annotations") or {}
        if key in exposed:
            wanted = {x.PIN_ANNOTATION: ",".join(exposed[key]["cluster_ips"]), x.PINNED_BY_ANNOTATION: owner}
            if annotations.get(x.PINNED_BY_ANNOTATION) not in (None, owner):
                continue  # another owner exposes it too and keeps the pin; never flap the annotations between owners
            if any(annotations.get(k) != val for k, val in wanted.items()):
                patches.append((key, service, {"metadata": {"annotations": wanted}}))
        elif remove_pins and annotations.get(x.PINNED_BY_ANNOTATION) == owner:
            patches.append((key, service, {"metadata": {"annotations": {x.PIN_ANNOTATION: None, x.PINNED_BY_ANNOTATION: None}}}))
    return patches


def _write_order(adapter, change, prefix):
    """Allows before the deny on the way in, the deny first on the way out.

    On the way in the node network set comes first (pod policies refer to it), then pod policies, then host
    policies; a policy that gains rules is written before one that loses them.
    """
    name = change.key.rsplit("/", 1)[-1]
    is_deny = adapter.kind == r.GLOBALNETWORKPOLICIES.kind and name == "%s-deny-service-ranges" % prefix
    kind_rank = {r.GLOBALNETWORKSETS.kind: 0, r.NETWORKPOLICIES.kind: 1, r.GLOBALNETWORKPOLICIES.kind: 2}[adapter.kind]
    if change.action != "delete":
        shrinking = change.action == "update" and _rule_count(change.desired) < _rule_count(change.live)
        return (1 if is_deny else 0, kind_rank, 1 if shrinking else 0)
    return (2 if is_deny else 3, -kind_rank, 0)


def _rule_count(obj):
    return len(((obj or {}).get("spec") or {}).get("ingress") or [])


def failsafe_ports(reads):
    """(protocol, port) -> where it comes from, for every inbound failsafe on any node (a port open on one node is enough)."""
    failsafes = _cluster_info.effective_failsafes(reads.felix_configs, reads.nodes)
    ports = {}
    for entries, origin in [failsafes["inbound"]] + [cfg["inbound"] for cfg in failsafes["per_node"].values()]:
        for entry in entries:
            ports.setdefault((entry["protocol"], entry["port"]), origin)
    return ports


def _in_scope(live_objects, desired, owner):
    """Live objects the plan must see: this owner's exposure objects, and any object a desired one would collide with."""
    wanted = set(_state.object_key(o) for o in desired)
    return [o for o in live_objects if _owned_component(o, owner) or _state.object_key(o) in wanted]


def _where(items_by_key, key):
    return "config[%d] (Service %s)" % (items_by_key[key][0], key) if key in items_by_key else "Service %s" % key


def _fail(module, msg, **extra):
    module.fail_json(msg=msg, **extra)


def run_exposure_module(module):
    params = module.params
    state = params["state"]
    owner = params["owner"]
    items = params["config"] or []
    if params.get("node_selector") is None:
        params["node_selector"] = default_node_selector(owner)

    errors = common_input_errors(params) + x.validate_params(params)
    if errors:
        _fail(module, summarise_errors(errors), errors=errors)
    items_by_key = dict((x.service_key(i["namespace"], i["name"]), (index, i)) for index, i in enumerate(items))

    if state == "rendered":
        manifests, exposures, errors = x.render_offline(params)
        if errors:
            _fail(module, summarise_errors(errors), errors=errors)
        if not params.get("node_addresses") and exposures:
            module.warn("node_addresses not given: the rendering leaves out the node GlobalNetworkSet and the rules that "
                        "trust it, which the module writes when it applies")
        module.exit_json(changed=False, rendered=manifests, exposures=[x.exposure_summary(e) for e in exposures])

    client = CalicoClient.from_module(module)
    try:
        reads = Reads(client, params)
    except ApiError as exc:
        _fail(module, str(exc), api_status=exc.status)

    current = {}
    for np in reads.nps:
        record = x.record_of(np) if _owned_component(np, owner) else None
        if record:
            current[x.service_key(record["namespace"], record["name"])] = record
    if state == "gathered":
        wanted = set(items_by_key)
        gathered = [x.record_as_item(current[key]) for key in sorted(current) if not wanted or key in wanted]
        module.exit_json(changed=False, gathered=gathered, api_requests=client.request_counts)

    warnings = []
    service_ranges, range_source = discover_service_ranges(params, reads)
    pod_ranges = discover_pod_ranges(params, reads)
    target = x.target_items(state, [i for _k, (_n, i) in sorted(items_by_key.items())], current)
    if target and not service_ranges:
        errors.append("service_cidrs: no service cluster IP range found (no ServiceCIDR objects, no serviceClusterIPs in "
                      "BGPConfiguration default); give service_cidrs, or the explicit deny that keeps unlisted clients out "
                      "cannot be written")
    if target and not pod_ranges:
        errors.append("pod_cidrs: no IPPool serves workloads; give pod_cidrs")
    errors.extend("pod_cidrs: %s" % p for p in x.overlap_problems(pod_ranges, service_ranges) if target)
    if errors:
        fail_unapplicable(module, errors)

    node_addresses = sorted(set(ip for node in reads.nodes for ip in x.node_addresses(node)))
    ctx = x.context(params, owner, service_ranges, pod_ranges, node_addresses)
    if target:
        for node in reads.nodes:
            for ip in x.node_addresses(node):
                inside = [c for c in service_ranges if x.family(c) == x.family(ip) and ipaddress.ip_address(ip) in ipaddress.ip_network(c)]
                if inside:
                    errors.append("node %s has address %s inside the service range %s: the deny of that range would also cut "
                                  "traffic to the node; the service range or the node addresses are wrong"
                                  % (node["metadata"]["name"], ip, inside[0]))

    def missing(key):
        namespace = key.split("/", 1)[0]
        if namespace not in reads.namespaces:
            return "namespace %r does not exist" % namespace
        return "Service not found"

    exposures, records = x.resolve_all(target, items_by_key, reads.services, ctx, errors, warnings, missing)
    owners_by_ip = {}
    for key, service in reads.services.items():
        for ip in x.cluster_ips_of(service):
            owners_by_ip[canonical_ip(ip)] = key
    target_items = dict((k, (items_by_key.get(k) or (0, {}))[1]) for k in target)
    # Every record still in the target counts, even one whose Service is gone: its IP may have been handed out again.
    errors.extend(x.reuse_problems(current, set(target), owners_by_ip, target_items))
    failsafe = failsafe_ports(reads)
    for exposure in exposures:
        errors.extend("%s: %s" % (_where(items_by_key, exposure["key"]), p)
                      for p in x.failsafe_problems(exposure, target[exposure["key"]], failsafe))
    for exposure in exposures:
        previous = current.get(exposure["key"])
        if previous and (previous.get("cluster_ips") != exposure["cluster_ips"] or previous.get("uid") != exposure["uid"]):
            warnings.append("Service %s was recreated (cluster IPs %s, now %s): its exposure is re-pinned"
                            % (exposure["key"], ", ".join(previous.get("cluster_ips") or []), ", ".join(exposure["cluster_ips"])))
    advertised = advertised_ranges(reads.bgp_default)
    for exposure in exposures:
        for ip in exposure["cluster_ips"]:
            if any(ipaddress.ip_address(ip) in ipaddress.ip_network(c) for c in advertised if x.family(c) == x.family(ip)):
                continue
            message = ("%s: cluster IP %s of Service %s is outside every serviceClusterIPs range of BGPConfiguration default (%s): "
                       "Calico does not advertise it (unless calico-node's CALICO_ADVERTISE_CLUSTER_IPS overrides that setting)"
                       % (_where(items_by_key, exposure["key"]), ip, exposure["key"], ", ".join(advertised) or "none configured"))
            if params["require_advertised"]:
                errors.append(message)
            else:
                warnings.append(message)

    gnps, nps = x.render(exposures, records, ctx, live_gnps=[o for o in reads.gnps if _owned_component(o, owner)])
    gnss = x.node_network_sets(ctx, exposures)
    # As the server reads them back (with tiers: spec.tier and its label): no write, no diff for what it fills in.
    profile = reads.profile
    gnps = [profile.complete(o) for o in gnps]
    nps = [profile.complete(o) for o in nps]
    gnp_adapter = RenderedAdapter(r.GLOBALNETWORKPOLICIES, profile)
    np_adapter = RenderedAdapter(r.NETWORKPOLICIES, profile)
    gns_adapter = RenderedAdapter(r.GLOBALNETWORKSETS, profile)
    live_gnps = _in_scope(reads.gnps, gnps, owner)
    live_nps = _in_scope(reads.nps, nps, owner)
    live_gnss = _in_scope(reads.network_sets, gnss, owner)
    try:
        plans = [(gnp_adapter, c) for c in _state.plan(gnp_adapter, "overridden", gnps, live_gnps, owner, params["adopt"])]
        plans += [(np_adapter, c) for c in _state.plan(np_adapter, "overridden", nps, live_nps, owner, params["adopt"])]
        plans += [(gns_adapter, c) for c in _state.plan(gns_adapter, "overridden", gnss, live_gnss, owner, params["adopt"])]
    except _state.PlanError as exc:
        errors.extend(exc.errors)
        plans = []
    if any(a is gnp_adapter and c.action == "delete" and x.is_host_traffic_policy(c.live, params["name_prefix"]) for a, c in plans):
        selector = parse_selector(params["node_selector"])  # validated before any request
        still = sorted(h["metadata"]["name"] for h in reads.hostendpoints if selector.matches(_state.labels_of(h)))
        if still:
            errors.append("the host-traffic policy cannot be deleted while HostEndpoints it keeps usable still exist (%s): "
                          "without it Calico denies those nodes' traffic. Delete the HostEndpoints first "
                          "(calico_hostendpoint state=deleted), then the policies" % ", ".join(still))
    if errors:
        for message in warnings:
            module.warn(message)
        fail_unapplicable(module, errors)

    plans.sort(key=lambda pair: _write_order(pair[0], pair[1], params["name_prefix"]))
    patches = _service_annotation_patches(exposures, current, reads, owner, params["remove_pins"])
    total = len(plans) + len(patches)
    steps = [Step(adapter, "overridden", change, "%s/%s" % (adapter.kind, change.key)) for adapter, change in plans]
    try:
        done, _results = apply_plan(client, steps, owner, params["adopt"], total=total)
    except ApplyFailed as exc:
        _fail(module, str(exc), changed=exc.applied > 0, changes=exc.done, api_status=exc.status,
              api_requests=client.request_counts)
    for key, service, patch in patches:
        try:
            client.merge_patch(r.SERVICES, service["metadata"]["name"], patch, namespace=service["metadata"]["namespace"])
        except ApiError as exc:
            _fail(module, "Recording the pin on Service %s failed after the policies were applied: %s" % (key, exc),
                  changed=True, changes=done, api_status=exc.status, api_requests=client.request_counts)
        done["updated"].append("Service/%s" % key)

    for message in warnings:
        module.warn(message)
    try:
        report = x.node_report(reads.nodes, reads.hostendpoints, params["node_selector"])
    except SelectorError:
        report = []
    uncovered = [entry["node"] for entry in report if not entry["hostendpoints"]]
    if uncovered and len(uncovered) < len(report):
        module.warn("nodes %s have no HostEndpoint that node_selector selects: cluster-IP traffic that the upstream router "
                    "sends to them is not filtered by the host policies" % ", ".join(uncovered))
    for entry in report:
        if entry["missing_expected_ips"]:
            missing_ips = ", ".join(entry["missing_expected_ips"])
            module.warn("HostEndpoints %s of node %s lack expectedIPs %s: pod policy rules that select nodes will not match "
                        "traffic the node forwards with those addresses" % (", ".join(entry["hostendpoints"]), entry["node"], missing_ips))
    before = [x.record_as_item(current[key]) for key in sorted(current)]
    after = [x.record_as_item(records[key]) for key in sorted(records)]
    result = dict(changed=total > 0, before=before, after=after, changes=done, exposures=[x.exposure_summary(e) for e in exposures],
                  service_ranges=service_ranges, service_ranges_source=range_source, pod_ranges=pod_ranges, node_report=report,
                  policies=sorted("%s/%s" % (o["kind"], _state.object_key(o)) for o in gnps + nps + gnss), api_requests=client.request_counts)
    if module._diff:
        live_by_label = dict(("%s/%s" % (o["kind"], _state.object_key(o)), o) for o in live_gnps + live_nps + live_gnss)
        desired_by_label = dict(("%s/%s" % (o["kind"], _state.object_key(o)), o) for o in gnps + nps + gnss)
        touched = [("%s/%s" % (a.kind, c.key)) for a, c in plans]
        result["diff"] = dict(
            before=dict((k, gnp_adapter.view(live_by_label[k])) for k in touched if k in live_by_label),
            after=dict((k, gnp_adapter.view(desired_by_label[k])) for k in touched if k in desired_by_label),
        )
    module.exit_json(**result)
