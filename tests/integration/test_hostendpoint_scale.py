"""Bulk by design: 500 HostEndpoints cost one LIST plus one write per object that changes."""

from __future__ import annotations

import json

import pytest

from integration.ansible_cli import run_playbook
from integration.conftest import node_hep, resource_requests

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COUNT = 500

PLAYBOOK = """
- name: Manage many HostEndpoints in one task
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Apply
      clusteredge.calico.calico_hostendpoint:
        config: "{{ heps }}"
        state: overridden
      register: outcome
    - name: Keep the result for the test
      ansible.builtin.copy:
        content: "{{ outcome | to_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
"""


def counts_by_method(api):
    counts = {}
    for request in resource_requests(api):
        counts[request["method"]] = counts.get(request["method"], 0) + 1
    return counts


def test_request_counts_for_500_hostendpoints(k8s_api, env, tmp_path):
    playbook = tmp_path / "many.yml"
    playbook.write_text(PLAYBOOK)
    result_file = tmp_path / "result.json"
    vars_file = tmp_path / "vars.json"
    heps = [node_hep("node-%03d-eth0" % i, "node-%03d" % i, "10.100.%d.%d" % (i // 256, i % 256)) for i in range(COUNT)]

    def apply(items):
        k8s_api.clear_requests()
        vars_file.write_text(json.dumps({"heps": items, "result_file": str(result_file)}))
        run = run_playbook(env, playbook, extra_vars=vars_file, cwd=tmp_path)
        assert run.rc == 0, run
        return json.loads(result_file.read_text())

    first = apply(heps)
    assert len(first["changes"]["created"]) == COUNT
    assert counts_by_method(k8s_api) == {"GET": 1, "POST": COUNT}, "first run: one LIST, one create per object"
    assert len(k8s_api.objects("HostEndpoint")) == COUNT

    noop = apply(heps)
    assert noop["changed"] is False
    assert counts_by_method(k8s_api) == {"GET": 1}, "no-op run: one LIST and no write"

    heps[250] = dict(heps[250], expected_ips=["10.200.0.1"])
    one = apply(heps)
    assert one["changes"] == {"created": [], "updated": ["node-250-eth0"], "deleted": []}
    assert counts_by_method(k8s_api) == {"GET": 1, "PUT": 1}, "one changed object: one LIST and one update"
