# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one applier: writes a plan's changes in order, re-applying the same intent after a conflict.

Private to this collection: no stability promise. Every module that writes goes through `apply_plan`, so a
409, an ownership rule or `adopt` behaves the same whichever module planned the change.
"""

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._core.errors import ApiError, ApplyFailed, Conflict
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.ownership import foreign_reason, is_owned
from ansible_collections.clusteredge.calico.plugins.module_utils._core.plan.state import Change, carry_server_fields, desired_object

CONFLICT_ATTEMPTS = 5
DONE_KEYS = {"create": "created", "update": "updated", "delete": "deleted"}


class Step(object):
    """One change of a plan, with the adapter and state it was planned under."""

    __slots__ = ("adapter", "state", "change", "label", "record")

    def __init__(self, adapter, state, change, label=None, record=None):
        self.adapter = adapter
        self.state = state
        self.change = change
        self.label = label or change.key    # how a failure message names it
        self.record = record or self.label  # how results list it (`changes`)


def empty_done():
    return dict(created=[], updated=[], deleted=[])


def apply_change(client, adapter, state, change, owner, adopt=False):
    """Write one change; a 409 re-reads the object and re-applies the same intent (with the same `adopt`)."""
    resource = adapter.resource
    for _attempt in range(CONFLICT_ATTEMPTS):
        try:
            if change.action == "create":
                return client.create(resource, change.desired)
            if change.action == "update":
                return client.replace(resource, change.desired)
            client.delete(resource, change.live["metadata"]["name"], change.live["metadata"].get("namespace"))
            return None
        except Conflict:
            meta = (change.desired or change.live)["metadata"]
            fresh = client.get(resource, meta["name"], meta.get("namespace"))
            if change.action == "delete":
                if fresh is None or not is_owned(fresh, owner):
                    return None
                change = Change("delete", change.key, change.item, fresh, None)
                continue
            if fresh is None:
                change = Change("create", change.key, change.item, None, adapter.render(change.item, owner))
                continue
            reason = foreign_reason(fresh, owner, adopt)
            if reason:
                raise ApiError("%s %r changed while this task ran and may no longer be written: %s" % (adapter.kind, change.key, reason))
            desired = desired_object(adapter, state, change.item, fresh, owner)
            if adapter.comparable(desired) == adapter.comparable(fresh):
                return fresh
            change = Change("update", change.key, change.item, fresh, carry_server_fields(desired, fresh))
    raise ApiError("%s %r kept changing under this task (%d conflicts in a row); run it again"
                   % (adapter.kind, change.key, CONFLICT_ATTEMPTS), status=409)


def apply_plan(client, steps, owner, adopt=False, total=None):
    """Apply `steps` in order; returns (done, the object each write returned, by record). Raises ApplyFailed.

    `total` counts every write of the run (for the message) when the caller has more to write after these.
    """
    done = empty_done()
    results = {}
    total = len(steps) if total is None else total
    for step in steps:
        change = step.change
        try:
            results[step.record] = apply_change(client, step.adapter, step.state, change, owner, adopt)
        except ApiError as exc:
            applied = sum(len(keys) for keys in done.values())
            raise ApplyFailed("%s %s failed after %d of %d changes were applied: %s"
                              % (change.action.capitalize(), step.label, applied, total, exc), done, exc.status)
        done[DONE_KEYS[change.action]].append(step.record)
    return done, results
