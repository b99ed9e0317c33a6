# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean

# The settings of the clusterip_exposure role its argument spec cannot check, in the order the problems are reported:
# (variable, lowest value, highest value, what the message says it must be).
RANGES = (
    ("clusterip_exposure_canary_timeout", 1, None, "must be at least 1 (seconds)"),
    ("clusterip_exposure_canary_settle", 0, None, "must be 0 or more (seconds)"),
    ("clusterip_exposure_api_server_port", 0, 65535,
     "must be a port number (1 to 65535), or 0 to read it from the cluster"),
    ("clusterip_exposure_verify_nodes_per_service", 0, None, "must be 0 (every node) or more"),
)


def _as_int(value):
    """As Jinja's `int` filter reads a value: "42" and "42.5" are 42, anything unreadable is 0."""
    try:
        return int(value, 10) if isinstance(value, str) else int(value)
    except (TypeError, ValueError, OverflowError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return 0


def setting_problems(settings, play_hosts=None):
    """One message per setting of `settings` (role variable -> value) that is out of range, naming the variable."""
    problems = []
    for name, lowest, highest, must in RANGES:
        if name not in settings:
            continue
        number = _as_int(settings[name])
        if number < lowest or (highest is not None and number > highest):
            problems.append("%s: %s %s" % (name, settings[name], must))
    host = settings.get("clusterip_exposure_canary_host") or ""
    canary = boolean(settings.get("clusterip_exposure_canary", True), strict=False)
    if canary and host and play_hosts is not None and host not in play_hosts:
        problems.append("clusterip_exposure_canary_host %s is not a host of this play" % host)
    return problems


class FilterModule(object):
    """Settings of the clusterip_exposure role its argument spec cannot check (see setting_problems.yml)."""

    def filters(self):
        return {"setting_problems": setting_problems}
