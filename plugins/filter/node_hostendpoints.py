# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.node_map import node_hostendpoints

# Per-host role variables the mapping honours.
HOST_VARIABLES = (("node_name", "clusterip_exposure_node_name"), ("interfaces", "clusterip_exposure_interfaces"),
                  ("interface_query", "clusterip_exposure_interface_query"))


def _from_hostvars(names, hostvars):
    """Turn inventory host names into the entries node_hostendpoints wants, reading each host's facts and variables."""
    hosts = []
    for name in names:
        variables = hostvars[name]
        facts = dict((key, variables[key]) for key in variables if str(key).startswith("ansible_"))
        entry = dict(inventory_hostname=str(name), facts=facts)
        for field, variable in HOST_VARIABLES:
            value = variables.get(variable)
            if value:
                entry[field] = value
        hosts.append(entry)
    return hosts


def node_hostendpoints_filter(hosts, nodes, labels=None, hostvars=None):
    if hostvars is not None:
        hosts = _from_hostvars(hosts, hostvars)
    return node_hostendpoints(hosts, nodes, labels)


class FilterModule(object):
    """Map inventory hosts to Kubernetes nodes and their HostEndpoints (see node_hostendpoints.yml)."""

    def filters(self):
        return {"node_hostendpoints": node_hostendpoints_filter}
