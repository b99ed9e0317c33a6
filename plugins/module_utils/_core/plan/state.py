# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The resource-module state algebra, written once for every kind this collection manages.

Private to this collection: no stability promise. Pure: given the validated desired items, the
live objects of one kind (read with a single LIST) and the state, it decides which objects to
create, update or delete. It never talks to the API; `plan.applier` writes the plan.
"""

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._core.errors import Unapplicable
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.validation import check_label_value
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.ownership import (
    foreign_reason,
    is_auto_created,
    is_owned,
    object_key,
)

WRITE_STATES = ("merged", "replaced", "overridden", "deleted")
STATES = WRITE_STATES + ("gathered", "rendered")


class Change(object):
    """One write: create, update or delete of the object at `key`."""

    __slots__ = ("action", "key", "item", "live", "desired")

    def __init__(self, action, key, item, live, desired):
        self.action = action
        self.key = key
        self.item = item
        self.live = live
        self.desired = desired

    def __repr__(self):
        return "Change(%s %s)" % (self.action, self.key)


def desired_object(adapter, state, item, live, owner):
    """The full object `item` should become under `state`, given the live object (or None)."""
    if state == "merged" and live is not None:
        return adapter.merge(live, item, owner)
    return adapter.render(item, owner)


def carry_server_fields(desired, live):
    """Keep the live identity (resourceVersion, uid, foreign annotations kept by the adapter) on an update."""
    body = dict(desired)
    meta = dict(desired.get("metadata") or {})
    live_meta = live.get("metadata") or {}
    for field in ("resourceVersion", "uid", "creationTimestamp", "generation"):
        if field in live_meta:
            meta[field] = live_meta[field]
    body["metadata"] = meta
    return body


def plan(adapter, state, items, live_objects, owner, adopt=False):
    """Return the ordered list of Changes that bring the live objects to `state`.

    Raises Unapplicable, before anything is written, when an item names an object this owner may
    not touch, or cannot be created from what was given.
    """
    live_by_key = dict((object_key(obj), obj) for obj in live_objects)
    errors = []
    changes = []
    wanted = set()

    if state in ("merged", "replaced", "overridden"):
        for index, item in enumerate(items):
            key = adapter.key(item)
            wanted.add(key)
            live = live_by_key.get(key)
            where = "config[%d] (%s %r)" % (index, adapter.kind, key)
            if live is not None:
                reason = foreign_reason(live, owner, adopt)
                if reason:
                    errors.append("%s: cannot %s: %s" % (where, "override" if state == "overridden" else "update", reason))
                    continue
            elif state == "merged":
                problem = adapter.creation_problem(item)
                if problem:
                    errors.append("%s: does not exist yet and cannot be created: %s" % (where, problem))
                    continue
            desired = desired_object(adapter, state, item, live, owner)
            if live is None:
                changes.append(Change("create", key, item, None, desired))
            elif adapter.comparable(desired) != adapter.comparable(live):
                changes.append(Change("update", key, item, live, carry_server_fields(desired, live)))
    if state == "deleted" and items:
        for index, item in enumerate(items):
            key = adapter.key(item)
            live = live_by_key.get(key)
            if live is None:
                continue
            reason = foreign_reason(live, owner)
            if reason:
                errors.append("config[%d] (%s %r): cannot delete: %s" % (index, adapter.kind, key, reason))
                continue
            changes.append(Change("delete", key, item, live, None))
    if state == "overridden" or (state == "deleted" and not items):
        for key in sorted(live_by_key):
            live = live_by_key[key]
            if key not in wanted and is_owned(live, owner) and not is_auto_created(live):
                changes.append(Change("delete", key, None, live, None))
    if errors:
        raise Unapplicable(errors)
    return changes


def scope_keys(items, live_objects, owner, adapter):
    """Objects a result reports on: everything this owner owns plus everything named in config."""
    keys = set(adapter.key(item) for item in items)
    keys.update(object_key(obj) for obj in live_objects if is_owned(obj, owner))
    return sorted(keys)


def input_errors(params):
    """Problems every resource module shares: config presence for the state, and the owner label value."""
    state = params["state"]
    items = params["config"] or []
    errors = []
    if state in ("merged", "replaced", "overridden", "rendered") and not items:
        hint = " (to remove everything this owner manages, use state=deleted with no config)" if state == "overridden" else ""
        errors.append("config: state=%s needs at least one item%s" % (state, hint))
    problem = check_label_value(params["owner"])
    if problem or not params["owner"]:
        errors.append("owner: %s" % (problem or "must not be empty"))
    return errors
