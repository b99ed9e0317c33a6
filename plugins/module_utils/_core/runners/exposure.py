# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Runs calico_clusterip_exposure: validate, read a snapshot, resolve, render, plan, write in a safe order.

Private to this collection: no stability promise. Every rule lives in model.exposure; this file only moves data
between the snapshot, the model, the plan and the applier, and assembles the result.
"""

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._core.api import resources as r
from ansible_collections.clusteredge.calico.plugins.module_utils._core.errors import ApiError, CalicoModuleError, InvalidInput, Unapplicable
from ansible_collections.clusteredge.calico.plugins.module_utils._core.facts import exposure_fields, read_snapshot
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.cluster import failsafe_ports
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure import params as xp
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure import render as xr
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure import resolve as xs
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.nodes import coverage_warnings, node_addresses, node_report
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.ownership import OWNER_LABEL, object_key
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.selector import SelectorError
from ansible_collections.clusteredge.calico.plugins.module_utils._core.plan import state as algebra
from ansible_collections.clusteredge.calico.plugins.module_utils._core.plan.adapters import RenderedAdapter
from ansible_collections.clusteredge.calico.plugins.module_utils._core.plan.applier import Step, apply_plan


def default_node_selector(owner):
    """The HostEndpoints calico_hostendpoint created for the same owner."""
    return "%s == '%s'" % (OWNER_LABEL, owner)


def _where(items_by_key, key):
    return "config[%d] (Service %s)" % (items_by_key[key][0], key) if key in items_by_key else "Service %s" % key


def run(module, connect):
    params = module.params
    state = params["state"]
    owner = params["owner"]
    items = params["config"] or []
    if params.get("node_selector") is None:
        params["node_selector"] = default_node_selector(owner)

    errors = algebra.input_errors(params) + xp.validate_params(params)
    if errors:
        raise InvalidInput(errors)
    items_by_key = dict((xp.service_key(i["namespace"], i["name"]), (index, i)) for index, i in enumerate(items))

    if state == "rendered":
        manifests, exposures, errors = xr.render_offline(params)
        if errors:
            raise InvalidInput(errors)
        if not params.get("node_addresses") and exposures:
            module.warn("node_addresses not given: the rendering leaves out the node GlobalNetworkSet and the rules that "
                        "trust it, which the module writes when it applies")
        return dict(changed=False, rendered=manifests, exposures=[xr.exposure_summary(e) for e in exposures])

    client = connect()
    cluster = read_snapshot(client, exposure_fields(params))
    current = xp.current_records(cluster.network_policies, owner)
    if state == "gathered":
        wanted = set(items_by_key)
        gathered = [xp.record_as_item(current[key]) for key in sorted(current) if not wanted or key in wanted]
        return dict(changed=False, gathered=gathered, api_requests=client.request_counts)

    warnings = []
    service_ranges, range_source = xs.discover_service_ranges(params.get("service_cidrs"), cluster.service_cidr_objects, cluster.bgp_default)
    pod_ranges = xs.discover_pod_ranges(params.get("pod_cidrs"), cluster.ippools)
    target = xp.target_items(state, [i for _k, (_n, i) in sorted(items_by_key.items())], current)
    if target:
        errors.extend(xs.range_problems(service_ranges, pod_ranges))
    if errors:
        raise Unapplicable(errors)

    ctx = xs.context(params, owner, service_ranges, pod_ranges, sorted(set(ip for node in cluster.nodes for ip in node_addresses(node))))
    if target:
        errors.extend(xs.nodes_inside_service_ranges(cluster.nodes, service_ranges))

    def missing(key):
        namespace = key.split("/", 1)[0]
        if namespace not in cluster.namespace_names:
            return "namespace %r does not exist" % namespace
        return "Service not found"

    exposures, records = xs.resolve_all(target, items_by_key, cluster.services, ctx, errors, warnings, missing)
    target_items = dict((k, (items_by_key.get(k) or (0, {}))[1]) for k in target)
    # Every record still in the target counts, even one whose Service is gone: its IP may have been handed out again.
    errors.extend(xs.reuse_problems(current, set(target), xs.cluster_ip_holders(cluster.services), target_items))
    failsafe = failsafe_ports(cluster.felix_configs, cluster.nodes)
    for exposure in exposures:
        errors.extend("%s: %s" % (_where(items_by_key, exposure.key), p) for p in xs.failsafe_problems(exposure, target[exposure.key], failsafe))
    warnings.extend(xs.recreated_warnings(current, exposures))
    unadvertised = xs.unadvertised_problems(exposures, xs.advertised_ranges(cluster.bgp_default), lambda key: _where(items_by_key, key))
    (errors if params["require_advertised"] else warnings).extend(unadvertised)

    gnps, nps = xr.render(exposures, records, ctx, live_gnps=[o for o in cluster.global_policies if xp.owned_component(o, owner)])
    gnss = xr.node_network_sets(ctx, exposures)
    # As the server reads them back (with tiers: spec.tier and its label): no write, no diff for what it fills in.
    profile = cluster.profile
    gnps = [profile.complete(o) for o in gnps]
    nps = [profile.complete(o) for o in nps]
    adapters = [(RenderedAdapter(r.GLOBALNETWORKPOLICIES, profile), gnps, xr.in_scope(cluster.global_policies, gnps, owner)),
                (RenderedAdapter(r.NETWORKPOLICIES, profile), nps, xr.in_scope(cluster.network_policies, nps, owner)),
                (RenderedAdapter(r.GLOBALNETWORKSETS, profile), gnss, xr.in_scope(cluster.network_sets, gnss, owner))]
    try:
        plans = [(adapter, change) for adapter, desired, live in adapters
                 for change in algebra.plan(adapter, "overridden", desired, live, owner, params["adopt"])]
    except Unapplicable as exc:
        errors.extend(exc.errors)
        plans = []
    if any(c.action == "delete" and a.kind == r.GLOBALNETWORKPOLICIES.kind and xr.is_host_traffic_policy(c.live, params["name_prefix"])
           for a, c in plans):
        problem = xs.host_policy_delete_problem(cluster.hostendpoints, params["node_selector"])
        if problem:
            errors.append(problem)
    if errors:
        for message in warnings:
            module.warn(message)
        raise Unapplicable(errors)

    plans.sort(key=lambda pair: xr.write_order(pair[0].kind, pair[1], params["name_prefix"]))
    patches = xr.pin_patches(exposures, current, cluster.services, owner, params["remove_pins"])
    total = len(plans) + len(patches)
    steps = [Step(adapter, "overridden", change, "%s/%s" % (adapter.kind, change.key)) for adapter, change in plans]
    done, _results = apply_plan(client, steps, owner, params["adopt"], total=total)
    _record_pins(client, patches, done)

    report = _node_report(cluster, params["node_selector"])
    for message in warnings + coverage_warnings(report):
        module.warn(message)
    before = [xp.record_as_item(current[key]) for key in sorted(current)]
    after = [xp.record_as_item(records[key]) for key in sorted(records)]
    result = dict(changed=total > 0, before=before, after=after, changes=done, exposures=[xr.exposure_summary(e) for e in exposures],
                  service_ranges=service_ranges, service_ranges_source=range_source, pod_ranges=pod_ranges,
                  node_report=report,
                  policies=sorted("%s/%s" % (o["kind"], object_key(o)) for o in gnps + nps + gnss), api_requests=client.request_counts)
    if module._diff:
        live_by_label = dict(("%s/%s" % (o["kind"], object_key(o)), o) for _a, _d, live in adapters for o in live)
        desired_by_label = dict(("%s/%s" % (o["kind"], object_key(o)), o) for o in gnps + nps + gnss)
        touched = [("%s/%s" % (a.kind, c.key)) for a, c in plans]
        view = adapters[0][0].view
        result["diff"] = dict(
            before=dict((k, view(live_by_label[k])) for k in touched if k in live_by_label),
            after=dict((k, view(desired_by_label[k])) for k in touched if k in desired_by_label),
        )
    return result


def _node_report(cluster, node_selector):
    try:
        return node_report(cluster.nodes, cluster.hostendpoints, node_selector)
    except SelectorError:
        return []


def _record_pins(client, patches, done):
    """Pin annotations go last, after every policy: a Service is marked pinned only once its policies exist."""
    for key, service, patch in patches:
        try:
            client.merge_patch(r.SERVICES, service["metadata"]["name"], patch, namespace=service["metadata"]["namespace"])
        except ApiError as exc:
            raise CalicoModuleError("Recording the pin on Service %s failed after the policies were applied: %s" % (key, exc),
                                    changed=True, changes=done, api_status=exc.status) from None
        done["updated"].append("Service/%s" % key)
