# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.intent import intent_flows, unexposed_addresses


def intent_flows_filter(exposures, nodes, other_cluster_ips=None, api_server_port=6443, service_ranges=None, hostendpoints=None,
                        nodes_per_service=0):
    others = [(item[0], int(item[1])) for item in other_cluster_ips or []]
    others += unexposed_addresses(service_ranges or [], exposures)
    interfaces = {}
    for hep in hostendpoints or []:
        # A '*' HostEndpoint governs whichever interface the traffic uses: the flows keep their default interface.
        if hep["interface_name"] != "*":
            interfaces.setdefault(hep["node"], hep["interface_name"])
    return intent_flows(exposures, nodes, others, int(api_server_port), interfaces, int(nodes_per_service or 0))


class FilterModule(object):
    """The flows an exposure must get right (see intent_flows.yml)."""

    def filters(self):
        return {"intent_flows": intent_flows_filter}
