# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Runs a resource module (calico_hostendpoint today): validate everything, read the kind once, plan, write what changed.

Private to this collection: no stability promise. The kind-specific knowledge comes from an adapter
(model.hostendpoint.HostEndpointAdapter); the state algebra and the applier are shared.
"""

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._core.errors import InvalidInput
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.ownership import object_key
from ansible_collections.clusteredge.calico.plugins.module_utils._core.plan import state as algebra
from ansible_collections.clusteredge.calico.plugins.module_utils._core.plan.applier import Step, apply_plan


def run_resource(module, connect, adapter):
    params = module.params
    state = params["state"]
    items = params["config"] or []
    owner = params["owner"]

    errors = algebra.input_errors(params) + adapter.validate(items, state)
    if errors:
        raise InvalidInput(errors)

    if state == "rendered":
        return dict(changed=False, rendered=[adapter.render(item, owner) for item in items])

    client = connect()
    client.require_calico_api([adapter.resource])
    live_objects = client.list(adapter.resource)

    live_by_key = dict((object_key(obj), obj) for obj in live_objects)
    if state == "gathered":
        wanted = set(adapter.key(item) for item in items)
        gathered = [adapter.view(live_by_key[key]) for key in sorted(live_by_key) if not wanted or key in wanted]
        return dict(changed=False, gathered=gathered, api_requests=client.request_counts)

    changes = algebra.plan(adapter, state, items, live_objects, owner, adopt=params["adopt"])
    scope = algebra.scope_keys(items, live_objects, owner, adapter)
    steps = [Step(adapter, state, change, "%s %r" % (adapter.kind, change.key), change.key) for change in changes]
    done, results = apply_plan(client, steps, owner, params["adopt"])
    after_by_key = dict(live_by_key)
    for step in steps:
        if step.change.action == "delete":
            after_by_key.pop(step.change.key, None)
        else:
            after_by_key[step.change.key] = results[step.record] or step.change.desired

    before = [adapter.view(live_by_key[key]) for key in scope if key in live_by_key]
    after = [adapter.view(after_by_key[key]) for key in scope if key in after_by_key]
    result = dict(changed=bool(changes), before=before, after=after, changes=done, api_requests=client.request_counts)
    if module._diff:
        touched = [change.key for change in changes]
        result["diff"] = dict(
            before=dict((key, adapter.view(live_by_key[key])) for key in touched if key in live_by_key),
            after=dict((key, adapter.view(after_by_key[key])) for key in touched if key in after_by_key),
        )
    return result
