"""The expose playbook touches a node only where it must: every task of the role's plan and apply entry points runs
once (run_once, on the task or a block around it), and the only play over nodes that runs tasks per host is the one
gathering facts, over the hosts the plan named. Ansible spends tens of milliseconds per host on each per-host task, run
or skipped: one such task slipped into these entry points costs minutes at a thousand hosts (docs/development.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TASKS = REPO / "roles" / "clusterip_exposure" / "tasks"
IMPORT = "ansible.builtin.import_tasks"
BLOCK_KEYS = ("block", "rescue", "always")


def leaf_tasks(path, inherited_run_once=False):
    """(file, task name, runs once) for every task of `path`, following import_tasks and blocks."""
    yield from _walk(yaml.safe_load(path.read_text()) or [], path, inherited_run_once)


def _walk(tasks, path, inherited_run_once):
    for task in tasks:
        run_once = inherited_run_once or bool(task.get("run_once"))
        if IMPORT in task:
            yield from leaf_tasks(TASKS / task[IMPORT], run_once)
        elif any(key in task for key in BLOCK_KEYS):
            for key in BLOCK_KEYS:
                yield from _walk(task.get(key) or [], path, run_once)
        else:
            yield path.name, task.get("name"), run_once


@pytest.mark.parametrize("entry_point", ["plan", "apply", "unexpose"])
def test_every_task_of_the_controller_entry_points_runs_once(entry_point):
    tasks = list(leaf_tasks(TASKS / ("%s.yml" % entry_point)))
    assert len(tasks) >= 5, "the walk found the entry point's tasks"
    per_host = [(f, name) for f, name, once in tasks if not once]
    assert per_host == [], "tasks that would run (or be skipped) on every host: %s" % per_host


def test_main_differs_from_plan_and_apply_by_the_fact_gathering_alone():
    main = list(leaf_tasks(TASKS / "main.yml"))
    split = [t for t in leaf_tasks(TASKS / "plan.yml") if t[0] != "plan.yml"] + list(leaf_tasks(TASKS / "apply.yml"))
    assert [t for t in main if t not in split] == [("gather_facts.yml", "Gather network facts", False)]
    assert [t for t in split if t not in main] == []


def test_expose_gathers_per_host_only_on_the_hosts_the_plan_named():
    plays = yaml.safe_load((REPO / "playbooks" / "expose.yml").read_text())
    over_nodes = [p for p in plays if "clusterip_exposure_hosts" in str(p["hosts"])]
    assert [[t["ansible.builtin.import_role"]["tasks_from"] for t in p["tasks"]] for p in over_nodes] == [["plan"], ["apply"]]
    assert all(p["gather_facts"] is False for p in plays)
    (gather,) = [p for p in plays if "clusteredge_calico_discover" in str(p["hosts"])]
    assert [t.get("ansible.builtin.setup") for t in gather["tasks"]] == [{"gather_subset": ["!all", "network"]}]
    assert plays.index(over_nodes[0]) < plays.index(gather) < plays.index(over_nodes[1])
