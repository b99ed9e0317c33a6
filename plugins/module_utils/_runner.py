# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Runs a resource module: validate everything, read each kind once, plan, write what changed.

Private to this collection: no stability promise. Shared by every resource module; the
kind-specific knowledge comes from an adapter (see `_hostendpoint.HostEndpointAdapter`).
"""

from __future__ import annotations

import copy

from ansible.module_utils.basic import AnsibleModule

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule

    HAS_KUBERNETES_CORE = True
except ImportError:
    HAS_KUBERNETES_CORE = False
    AUTH_ARG_SPEC = {}

from ansible_collections.clusteredge.calico.plugins.module_utils import _state
from ansible_collections.clusteredge.calico.plugins.module_utils._client import ApiError, CalicoClient, Conflict
from ansible_collections.clusteredge.calico.plugins.module_utils._validation import check_label_value

CONFLICT_ATTEMPTS = 5


def resource_argument_spec(item_spec, extra=None):
    """Auth options exactly as kubernetes.core, plus the shared resource-module options."""
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        config=dict(type="list", elements="dict", options=item_spec),
        state=dict(type="str", default="merged", choices=list(_state.STATES)),
        owner=dict(type="str", default=_state.DEFAULT_OWNER),
        adopt=dict(type="bool", default=False),
    )
    spec.update(extra or {})
    return spec


def build_plain_module(extra):
    """A module taking kubernetes.core's auth options plus `extra`; every module of the collection supports check mode."""
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(extra)
    kwargs = dict(argument_spec=spec, supports_check_mode=True)
    if HAS_KUBERNETES_CORE:
        # The kubernetes library is only needed once we connect: `rendered` and `objects` work without it.
        return AnsibleK8SModule(module_class=AnsibleModule, check_k8s=False, check_pyyaml=False, **kwargs)
    return AnsibleModule(**kwargs)


def build_module(item_spec, extra=None):
    """A resource module: `config` items of `item_spec`, the shared state options, and `extra`."""
    spec = resource_argument_spec(item_spec, extra)
    for key in AUTH_ARG_SPEC:
        spec.pop(key)
    return build_plain_module(spec)


def common_input_errors(params):
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


def _fail(module, msg, **extra):
    module.fail_json(msg=msg, **extra)


def fail_unapplicable(module, errors, **extra):
    """Inputs that are valid on their own but cannot be applied to the cluster as it is; nothing was written."""
    module.fail_json(msg="%d input%s cannot be applied, nothing was changed: %s"
                     % (len(errors), "" if len(errors) == 1 else "s", "; ".join(errors)), errors=errors, **extra)


def summarise_errors(errors):
    head = "%d invalid input%s, nothing was changed: " % (len(errors), "" if len(errors) == 1 else "s")
    return head + "; ".join(errors)


def apply_change(client, adapter, state, change, owner, adopt=False):
    """Write one change; a 409 re-reads the object and re-applies the same intent."""
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
                if fresh is None or not _state.is_owned(fresh, owner):
                    return None
                change = _state.Change("delete", change.key, change.item, fresh, None)
                continue
            if fresh is None:
                change = _state.Change("create", change.key, change.item, None, adapter.render(change.item, owner))
                continue
            reason = _state.foreign_reason(fresh, owner, adopt)
            if reason:
                raise ApiError("%s %r changed while this task ran and may no longer be written: %s" % (adapter.kind, change.key, reason))
            desired = _state.desired_object(adapter, state, change.item, fresh, owner)
            if adapter.comparable(desired) == adapter.comparable(fresh):
                return fresh
            change = _state.Change("update", change.key, change.item, fresh, _state.carry_server_fields(desired, fresh))
    raise ApiError("%s %r kept changing under this task (%d conflicts in a row); run it again"
                   % (adapter.kind, change.key, CONFLICT_ATTEMPTS), status=409)


def run_resource_module(module, adapter):
    params = module.params
    state = params["state"]
    items = params["config"] or []
    owner = params["owner"]

    errors = common_input_errors(params) + adapter.validate(items, state)
    if errors:
        _fail(module, summarise_errors(errors), errors=errors)

    if state == "rendered":
        module.exit_json(changed=False, rendered=[adapter.render(item, owner) for item in items])

    client = CalicoClient.from_module(module)
    try:
        client.require_calico_api([adapter.resource])
        live_objects = client.list(adapter.resource)
    except ApiError as exc:
        _fail(module, str(exc), api_status=exc.status)

    live_by_key = dict((_state.object_key(obj), obj) for obj in live_objects)
    if state == "gathered":
        wanted = set(adapter.key(item) for item in items)
        gathered = [adapter.view(live_by_key[key]) for key in sorted(live_by_key) if not wanted or key in wanted]
        module.exit_json(changed=False, gathered=gathered, api_requests=client.request_counts)

    try:
        changes = _state.plan(adapter, state, items, live_objects, owner, adopt=params["adopt"])
    except _state.PlanError as exc:
        fail_unapplicable(module, exc.errors)

    scope = _state.scope_keys(items, live_objects, owner, adapter)
    after_by_key = dict(live_by_key)
    done = dict(created=[], updated=[], deleted=[])
    for change in changes:
        try:
            result = apply_change(client, adapter, state, change, owner, params["adopt"])
        except ApiError as exc:
            applied = sum(len(v) for v in done.values())
            _fail(module, "%s %s %r failed after %d of %d changes were applied: %s"
                  % (change.action.capitalize(), adapter.kind, change.key, applied, len(changes), exc),
                  changed=applied > 0, changes=done, api_status=exc.status, api_requests=client.request_counts)
        if change.action == "delete":
            after_by_key.pop(change.key, None)
        else:
            after_by_key[change.key] = result or change.desired
        done[{"create": "created", "update": "updated", "delete": "deleted"}[change.action]].append(change.key)

    before = [adapter.view(live_by_key[key]) for key in scope if key in live_by_key]
    after = [adapter.view(after_by_key[key]) for key in scope if key in after_by_key]
    result = dict(changed=bool(changes), before=before, after=after, changes=done, api_requests=client.request_counts)
    if module._diff:
        touched = [change.key for change in changes]
        result["diff"] = dict(
            before=dict((key, adapter.view(live_by_key[key])) for key in touched if key in live_by_key),
            after=dict((key, adapter.view(after_by_key[key])) for key in touched if key in after_by_key),
        )
    module.exit_json(**result)
