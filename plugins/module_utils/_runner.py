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
from ansible_collections.clusteredge.calico.plugins.module_utils._applier import ApplyFailed, Step, apply_plan
from ansible_collections.clusteredge.calico.plugins.module_utils._client import ApiError, CalicoClient
from ansible_collections.clusteredge.calico.plugins.module_utils._validation import check_label_value


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
    steps = [Step(adapter, state, change, "%s %r" % (adapter.kind, change.key), change.key) for change in changes]
    try:
        done, results = apply_plan(client, steps, owner, params["adopt"])
    except ApplyFailed as exc:
        _fail(module, str(exc), changed=exc.applied > 0, changes=exc.done, api_status=exc.status,
              api_requests=client.request_counts)
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
    module.exit_json(**result)
