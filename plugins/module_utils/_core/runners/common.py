# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What every runner shares: building the module, and the one error path.

Private to this collection: no stability promise. A runner is `run(module, connect)`: it returns the result,
or raises a CalicoModuleError from any layer; `run_module` turns either into exit_json or fail_json, once.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule

    HAS_KUBERNETES_CORE = True
except ImportError:
    HAS_KUBERNETES_CORE = False

from ansible_collections.clusteredge.calico.plugins.module_utils._core.api.client import CalicoClient
from ansible_collections.clusteredge.calico.plugins.module_utils._core.errors import CalicoModuleError


def build_module(argument_spec):
    """The module for `argument_spec` (see argspec.py); every module of the collection supports check mode."""
    kwargs = dict(argument_spec=argument_spec, supports_check_mode=True)
    if HAS_KUBERNETES_CORE:
        # The kubernetes library is only needed once we connect: `rendered` and `objects` work without it.
        return AnsibleK8SModule(module_class=AnsibleModule, check_k8s=False, check_pyyaml=False, **kwargs)
    return AnsibleModule(**kwargs)


def run_module(module, run):
    """Call `run(module, connect)`; its result exits the module, a CalicoModuleError fails it with its `msg` and fields.

    `connect()` returns the API client; once there is one, a failure also reports the requests sent so far.
    """
    clients = []

    def connect():
        clients.append(CalicoClient.from_module(module))
        return clients[-1]

    try:
        result = run(module, connect)
    except CalicoModuleError as exc:
        fields = dict(exc.result)
        if clients:
            fields.setdefault("api_requests", clients[-1].request_counts)
        module.fail_json(msg=exc.msg, **fields)
    module.exit_json(**result)
