"""Minimal stdout callback for the NodeLab tests: one JSON document {host: result} at the end.

(ansible-core 2.19 no longer ships a builtin ``json`` callback; ansible.posix is not installed here.)
"""

from __future__ import annotations

import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: nodelab_json
type: stdout
short_description: print a JSON mapping of host to last result
description:
  - Test helper for testworld/tests/nodes_tests.
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'nodelab_json'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.results = {}

    def _store(self, result, **extra):
        data = dict(result._result)
        data.update(extra)
        self.results[result._host.get_name()] = data

    def v2_runner_on_ok(self, result):
        self._store(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._store(result, failed=True)

    def v2_runner_on_unreachable(self, result):
        self._store(result, unreachable=True)

    def v2_runner_on_skipped(self, result):
        self._store(result, skipped=True)

    def v2_playbook_on_stats(self, stats):
        self._display.display(json.dumps({'hosts': self.results}, default=str))
