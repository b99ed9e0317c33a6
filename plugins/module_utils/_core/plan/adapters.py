# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Adapters: what the shared state algebra needs to know about a kind (key, render, merge, comparable, view).

The HostEndpoint adapter is its model (model.hostendpoint); this one serves objects a model renders whole
(policies, network sets), so the same plan and applier handle them.

Private to this collection: no stability promise. Pure: no I/O.
"""

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.ownership import object_key


def prune_empty(value):
    """Drop None, empty lists and empty maps recursively: the API server omits them on read."""
    if isinstance(value, dict):
        pruned = dict((k, prune_empty(v)) for k, v in value.items())
        return dict((k, v) for k, v in pruned.items() if v not in (None, [], {}))
    if isinstance(value, list):
        return [prune_empty(v) for v in value]
    return value


class RenderedAdapter(object):
    """Items are complete manifests already carrying the ownership label; updates replace them whole.

    `profile` (a CalicoProfile) brings what the server fills in (a policy's tier and tier label) to the same form
    on both sides of a comparison; without one, objects are compared as given.
    """

    def __init__(self, resource, profile=None):
        self.resource = resource
        self.kind = resource.kind
        self.profile = profile

    @staticmethod
    def key(item):
        return object_key(item)

    @staticmethod
    def render(item, owner):
        return item

    @staticmethod
    def creation_problem(item):
        return None

    @staticmethod
    def merge(live, item, owner):
        return item

    def comparable(self, obj):
        if self.profile is not None:
            obj = self.profile.complete(obj, self.kind)  # a live object the server filled in compares as sent
        meta = obj.get("metadata") or {}
        return prune_empty({"labels": meta.get("labels"), "annotations": meta.get("annotations"), "spec": obj.get("spec")})

    @staticmethod
    def view(obj):
        meta = obj.get("metadata") or {}
        view = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": {"name": meta.get("name")}}
        if meta.get("namespace"):
            view["metadata"]["namespace"] = meta["namespace"]
        for field in ("labels", "annotations"):
            if meta.get(field):
                view["metadata"][field] = meta[field]
        view["spec"] = obj.get("spec") or {}
        return view
