# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.node_map import discovery_plan, node_hostendpoints

# Per-host role variables the mapping honours.
HOST_VARIABLES = (("node_name", "clusterip_exposure_node_name"), ("interfaces", "clusterip_exposure_interfaces"),
                  ("interface_query", "clusterip_exposure_interface_query"))


def _from_hostvars(names, hostvars, with_facts=True):
    """Turn inventory host names into the entries node_hostendpoints wants, reading each host's facts and variables."""
    hosts = []
    for name in names:
        variables = hostvars[name]
        entry = dict(inventory_hostname=str(name))
        if with_facts:
            entry["facts"] = dict((key, variables[key]) for key in variables if str(key).startswith("ansible_"))
        for field, variable in HOST_VARIABLES:
            value = variables.get(variable)
            if value:
                entry[field] = value
        hosts.append(entry)
    return hosts


def node_hostendpoints_filter(hosts, nodes, labels=None, hostvars=None, owner=None, reused=None):
    if hostvars is not None:
        hosts = _from_hostvars(hosts, hostvars)
    return node_hostendpoints(hosts, nodes, labels, owner=owner, reused=reused)


def discovery_plan_filter(hosts, nodes, live_hostendpoints, owner, hostvars=None, mode="changed"):
    if hostvars is not None:
        hosts = _from_hostvars(hosts, hostvars, with_facts=False)
    return discovery_plan(hosts, nodes, live_hostendpoints, owner, mode)


class FilterModule(object):
    """Map inventory hosts to Kubernetes nodes and their HostEndpoints (node_hostendpoints.yml), and say which hosts need
    their network facts at all (discovery_plan.yml)."""

    def filters(self):
        return {"node_hostendpoints": node_hostendpoints_filter, "discovery_plan": discovery_plan_filter}
