# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.node_map import discovery_plan, node_hostendpoints

# Per-host role variables the mapping honours.
HOST_VARIABLES = (("node_name", "clusterip_exposure_node_name"), ("interfaces", "clusterip_exposure_interfaces"),
                  ("interface_query", "clusterip_exposure_interface_query"))


def _network_facts(variables):
    """The host's facts as ansible_* names: from ansible_facts (also where facts are not injected as variables) and from
    the ansible_* variables."""
    found = dict(("ansible_" + str(key), value) for key, value in (variables.get("ansible_facts") or {}).items())
    found.update((key, variables[key]) for key in variables if str(key).startswith("ansible_") and key != "ansible_facts")
    return found


def _from_hostvars(names, hostvars, with_facts=True):
    """Turn inventory host names into the entries node_hostendpoints wants, reading each host's facts and variables.

    with_facts=False (the discovery plan): facts only where Ansible already holds network facts for the host (its fact
    cache or an earlier gather), and the host's ansible_host.
    """
    hosts = []
    for name in names:
        variables = hostvars[name]
        entry = dict(inventory_hostname=str(name))
        if with_facts:
            entry["facts"] = _network_facts(variables)
        else:
            held = variables.get("ansible_facts") or {}
            if "interfaces" in held or "ansible_interfaces" in variables:
                entry["facts"] = _network_facts(variables)
            if variables.get("ansible_host"):
                entry["ansible_host"] = str(variables["ansible_host"])
        for field, variable in HOST_VARIABLES:
            value = variables.get(variable)
            if value:
                entry[field] = value
        hosts.append(entry)
    return hosts


def node_hostendpoints_filter(hosts, nodes, labels=None, hostvars=None, owner=None, reused=None, require_node_addresses=False):
    if hostvars is not None:
        hosts = _from_hostvars(hosts, hostvars)
    return node_hostendpoints(hosts, nodes, labels, owner=owner, reused=reused, require_node_addresses=require_node_addresses)


def discovery_plan_filter(hosts, nodes, live_hostendpoints, owner, hostvars=None, mode="changed", canary=None):
    if hostvars is not None:
        hosts = _from_hostvars(hosts, hostvars, with_facts=False)
    return discovery_plan(hosts, nodes, live_hostendpoints, owner, mode, canary=canary or None)


class FilterModule(object):
    """Map inventory hosts to Kubernetes nodes and their HostEndpoints (node_hostendpoints.yml), and say which hosts need
    their network facts at all (discovery_plan.yml)."""

    def filters(self):
        return {"node_hostendpoints": node_hostendpoints_filter, "discovery_plan": discovery_plan_filter}
