# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""HostEndpoint model: module `config` items <-> projectcalico.org/v3 HostEndpoint objects.

Private to this collection: no stability promise. Pure: no I/O. Validation follows Calico 3.28
(SPEC §1) plus the few extra rules this collection enforces for safety, each explained where raised.
"""

from __future__ import annotations

import copy

from ansible_collections.clusteredge.calico.plugins.module_utils._core.api.resources import CALICO_API_VERSION, HOSTENDPOINTS
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model import validation as v
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.ownership import OWNER_LABEL, RESERVED_LABELS


def _where(index, item):
    name = item.get("name")
    return "config[%d] (HostEndpoint %r)" % (index, name) if name else "config[%d]" % index


def _item_problems(item, state):
    """Yield (field, reason) for one item; never stops at the first problem."""
    name_problem = v.check_subdomain(item.get("name"))
    if name_problem:
        yield "name", name_problem
    if state in ("deleted", "gathered"):
        return
    node = item.get("node")
    if node is None:
        if state != "merged":
            yield "node", "is required: the Calico node name (usually the Kubernetes node name) this endpoint belongs to"
    else:
        problem = v.check_subdomain(node)
        if problem:
            yield "node", problem
    interface = item.get("interface_name")
    if interface is not None and interface != "":
        problem = v.check_interface_name(interface)
        if problem:
            yield "interface_name", problem
    ips = item.get("expected_ips")
    if ips is not None:
        seen = set()
        for position, ip in enumerate(ips):
            problem = v.check_ip_address(ip)
            if problem:
                yield "expected_ips[%d]" % position, problem
                continue
            canonical = v.canonical_ip(ip)
            if canonical in seen:
                yield "expected_ips[%d]" % position, "%r is listed twice" % ip
            seen.add(canonical)
    if state != "merged" and not interface and not ips:
        yield "interface_name", "give an interface name ('*' for all interfaces) or at least one expected IP"
    for field, checker in (("labels", v.check_labels), ("annotations", v.check_annotations)):
        value = item.get(field)
        if value is None:
            continue
        problem = checker(value)
        if problem:
            yield field, problem
        elif field == "labels":
            for reserved in RESERVED_LABELS:
                if reserved in value:
                    yield field, ("%r is reserved: the module sets the ownership label itself and never writes "
                                  "calico-kube-controllers' label" % reserved)
    for position, profile in enumerate(item.get("profiles") or []):
        problem = v.check_subdomain(profile)
        if problem:
            yield "profiles[%d]" % position, problem
    ports = item.get("ports") or []
    names = set()
    for position, port in enumerate(ports):
        for problem in (v.check_port_name(port.get("name")), v.check_port_number(port.get("port")),
                        v.check_port_protocol(port.get("protocol"))):
            if problem:
                yield "ports[%d]" % position, problem
        if port.get("name") in names:
            yield "ports[%d]" % position, "port name %r is listed twice" % port.get("name")
        names.add(port.get("name"))
    if ports and interface == "*":
        # Named ports resolve to an endpoint's expectedIPs; a wildcard HostEndpoint spans every
        # interface, lo and pod veths included, so a rule using the name would match far more than meant.
        yield "ports", ("named ports cannot be declared on an all-interfaces ('*') HostEndpoint: set interface_name "
                        "to the interface that serves them")


def validate(items, state):
    """Every problem in `items`, each naming the item and the field; empty when all are valid."""
    errors = []
    seen = {}
    for index, item in enumerate(items):
        where = _where(index, item)
        for field, reason in _item_problems(item, state):
            errors.append("%s: %s: %s" % (where, field, reason))
        name = item.get("name")
        if name in seen:
            errors.append("%s: name: duplicate of config[%d]; each HostEndpoint may appear once per call" % (where, seen[name]))
        else:
            seen[name] = index
    return errors


def _ports(ports):
    return [
        {"name": p["name"], "port": p["port"], "protocol": v.canonical_port_protocol(p.get("protocol") or "TCP")}
        for p in ports
    ]


def _spec_from_item(item):
    spec = {"node": item["node"]}
    if item.get("interface_name"):
        spec["interfaceName"] = item["interface_name"]
    if item.get("expected_ips"):
        spec["expectedIPs"] = [v.canonical_ip(ip) for ip in item["expected_ips"]]
    if item.get("profiles"):
        spec["profiles"] = list(item["profiles"])
    if item.get("ports"):
        spec["ports"] = _ports(item["ports"])
    return spec


def _union(first, second):
    result = list(first)
    result.extend(x for x in second if x not in result)
    return result


class HostEndpointAdapter(object):
    """Everything the shared state algebra needs to know about HostEndpoints."""

    resource = HOSTENDPOINTS
    kind = HOSTENDPOINTS.kind

    @staticmethod
    def key(item):
        return item["name"]

    @staticmethod
    def validate(items, state):
        return validate(items, state)

    @staticmethod
    def creation_problem(item):
        if not item.get("node"):
            return "node is required to create it"
        if not item.get("interface_name") and not item.get("expected_ips"):
            return "give interface_name or expected_ips to create it"
        return None

    @staticmethod
    def render(item, owner):
        labels = dict(item.get("labels") or {})
        labels[OWNER_LABEL] = owner
        metadata = {"name": item["name"], "labels": labels}
        if item.get("annotations"):
            metadata["annotations"] = dict(item["annotations"])
        return {"apiVersion": CALICO_API_VERSION, "kind": HOSTENDPOINTS.kind, "metadata": metadata, "spec": _spec_from_item(item)}

    @staticmethod
    def merge(live, item, owner):
        """`merged`: what is given wins, maps merge, lists gain the new entries, nothing is removed."""
        obj = copy.deepcopy(live)
        meta = obj.setdefault("metadata", {})
        labels = dict(meta.get("labels") or {})
        labels.update(item.get("labels") or {})
        labels[OWNER_LABEL] = owner
        meta["labels"] = labels
        if item.get("annotations"):
            annotations = dict(meta.get("annotations") or {})
            annotations.update(item["annotations"])
            meta["annotations"] = annotations
        spec = obj.setdefault("spec", {})
        if item.get("node"):
            spec["node"] = item["node"]
        if item.get("interface_name") is not None:
            spec["interfaceName"] = item["interface_name"]
        if item.get("expected_ips"):
            spec["expectedIPs"] = _union(spec.get("expectedIPs") or [], [v.canonical_ip(ip) for ip in item["expected_ips"]])
        if item.get("profiles"):
            spec["profiles"] = _union(spec.get("profiles") or [], item["profiles"])
        if item.get("ports"):
            by_name = dict((p.get("name"), p) for p in spec.get("ports") or [])
            order = list(by_name)
            for port in _ports(item["ports"]):
                if port["name"] not in by_name:
                    order.append(port["name"])
                by_name[port["name"]] = port
            spec["ports"] = [by_name[name] for name in order]
        return obj

    @staticmethod
    def comparable(obj):
        """The fields this module manages, normalised so that absent and empty compare equal."""
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        return (
            sorted((meta.get("labels") or {}).items()),
            sorted((meta.get("annotations") or {}).items()),
            spec.get("node") or "",
            spec.get("interfaceName") or "",
            list(spec.get("expectedIPs") or []),
            list(spec.get("profiles") or []),
            [(p.get("name"), p.get("port"), str(p.get("protocol"))) for p in spec.get("ports") or []],
        )

    @staticmethod
    def view(obj):
        """A live object in `config` shape, so that gathered output can be fed back as config."""
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        labels = dict(meta.get("labels") or {})
        labels.pop(OWNER_LABEL, None)
        return {
            "name": meta.get("name"),
            "node": spec.get("node"),
            "interface_name": spec.get("interfaceName") or None,
            "expected_ips": list(spec.get("expectedIPs") or []),
            "labels": labels,
            "annotations": dict(meta.get("annotations") or {}),
            "profiles": list(spec.get("profiles") or []),
            "ports": [dict(name=p.get("name"), port=p.get("port"), protocol=p.get("protocol")) for p in spec.get("ports") or []],
        }
