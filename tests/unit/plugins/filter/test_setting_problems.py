"""The settings of the clusterip_exposure role its argument spec cannot check: ranges and the canary host."""

import pytest

from ansible_collections.clusteredge.calico.plugins.filter.setting_problems import FilterModule, setting_problems

DEFAULTS = {
    "clusterip_exposure_canary": True,
    "clusterip_exposure_canary_host": "",
    "clusterip_exposure_canary_timeout": 30,
    "clusterip_exposure_canary_settle": 5,
    "clusterip_exposure_api_server_port": 0,
    "clusterip_exposure_verify_nodes_per_service": 3,
}
HOSTS = ["node-1", "node-2"]


def settings(**changed):
    return dict(DEFAULTS, **dict(("clusterip_exposure_" + key, value) for key, value in changed.items()))


def test_the_role_defaults_are_fine():
    assert setting_problems(DEFAULTS, HOSTS) == []


@pytest.mark.parametrize("changed", [
    dict(canary_timeout=1), dict(canary_settle=0), dict(api_server_port=65535), dict(api_server_port=6443),
    dict(verify_nodes_per_service=0), dict(canary_host="node-2"), dict(canary_timeout="7"),
])
def test_values_at_and_inside_the_limits_are_fine(changed):
    assert setting_problems(settings(**changed), HOSTS) == []


@pytest.mark.parametrize("changed, message", [
    (dict(canary_timeout=0), "clusterip_exposure_canary_timeout: 0 must be at least 1 (seconds)"),
    (dict(canary_settle=-1), "clusterip_exposure_canary_settle: -1 must be 0 or more (seconds)"),
    (dict(api_server_port=-1),
     "clusterip_exposure_api_server_port: -1 must be a port number (1 to 65535), or 0 to read it from the cluster"),
    (dict(api_server_port=65536),
     "clusterip_exposure_api_server_port: 65536 must be a port number (1 to 65535), or 0 to read it from the cluster"),
    (dict(verify_nodes_per_service=-2), "clusterip_exposure_verify_nodes_per_service: -2 must be 0 (every node) or more"),
    (dict(canary_host="stranger"), "clusterip_exposure_canary_host stranger is not a host of this play"),
])
def test_each_problem_names_the_variable_its_value_and_the_rule(changed, message):
    assert setting_problems(settings(**changed), HOSTS) == [message]


def test_values_are_read_as_the_int_filter_reads_them():
    # Text that is no number counts as 0, as `| int` has it; the message shows the value as given.
    assert setting_problems(settings(canary_timeout="soon"), HOSTS) == [
        "clusterip_exposure_canary_timeout: soon must be at least 1 (seconds)"]
    assert setting_problems(settings(canary_timeout="2.5", api_server_port="70000.0"), HOSTS) == [
        "clusterip_exposure_api_server_port: 70000.0 must be a port number (1 to 65535), or 0 to read it from the cluster"]
    assert setting_problems(settings(canary_settle=None), HOSTS) == []


def test_every_problem_at_once_in_a_fixed_order():
    problems = setting_problems(settings(canary_host="stranger", verify_nodes_per_service=-1, api_server_port=70000,
                                         canary_settle=-1, canary_timeout=0), HOSTS)
    assert [problem.split()[0].rstrip(":") for problem in problems] == [
        "clusterip_exposure_canary_timeout", "clusterip_exposure_canary_settle", "clusterip_exposure_api_server_port",
        "clusterip_exposure_verify_nodes_per_service", "clusterip_exposure_canary_host"]


@pytest.mark.parametrize("canary", [False, "no", "false", 0])
def test_the_canary_host_is_not_checked_without_a_canary(canary):
    assert setting_problems(settings(canary=canary, canary_host="stranger"), HOSTS) == []


def test_the_canary_host_is_checked_when_the_canary_is_on_as_text():
    assert setting_problems(settings(canary="yes", canary_host="stranger"), HOSTS) == [
        "clusterip_exposure_canary_host stranger is not a host of this play"]


def test_without_play_hosts_the_canary_host_is_not_checked():
    assert setting_problems(settings(canary_host="stranger")) == []


def test_only_the_variables_given_are_checked():
    assert setting_problems({}, HOSTS) == []
    assert setting_problems({"clusterip_exposure_canary_settle": -3}) == [
        "clusterip_exposure_canary_settle: -3 must be 0 or more (seconds)"]
    # The canary counts as on when not given.
    assert setting_problems({"clusterip_exposure_canary_host": "stranger"}, HOSTS) == [
        "clusterip_exposure_canary_host stranger is not a host of this play"]


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters() == {"setting_problems": setting_problems}
