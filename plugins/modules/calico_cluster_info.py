#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: calico_cluster_info
short_description: Read what a safe HostEndpoint rollout must know about a Calico cluster
version_added: 0.1.0
description:
  - Reads, with one request per kind, whether the Calico API server serves C(projectcalico.org/v3), the Calico version,
    the effective Felix failsafe ports (cluster-wide and per node), whether calico-kube-controllers creates automatic
    HostEndpoints, and every Node with its InternalIP, BGP and tunnel addresses.
  - Reports when the inbound failsafe ports no longer cover SSH or the API server, the two things that keep an operator
    able to repair a node whose HostEndpoint policy is wrong.
  - Never writes anything.
author:
  - clusteredge platform engineering (@clusteredge)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - clusteredge.calico.attributes.info_module
options:
  api_server_port:
    description:
      - Port the Kubernetes API server listens on at the nodes. Default, the target port of the C(default/kubernetes)
        Service, else 6443.
    type: int
requirements:
  - kubernetes >= 24.2.0 (Python library)
  - the kubernetes.core collection
"""

EXAMPLES = r"""
- name: Read the cluster's Calico facts
  clusteredge.calico.calico_cluster_info:
  register: calico

- name: Stop unless the failsafe ports still cover SSH and the API server
  ansible.builtin.assert:
    that: calico.failsafe_gaps | length == 0
    fail_msg: "{{ calico.failsafe_gaps | join('; ') }}"
"""

RETURN = r"""
calico_api_served:
  description: Whether C(projectcalico.org/v3) is served (by the Calico API server). When false, nothing else is read.
  returned: always
  type: bool
calico_api_message:
  description: Why the Calico API is not usable, naming the Calico API server.
  returned: when RV(calico_api_served) is false
  type: str
calico_version:
  description: C(ClusterInformation default .spec.calicoVersion).
  returned: when RV(calico_api_served)
  type: str
  sample: v3.28.5
failsafes:
  description: Effective Felix failsafe ports, where they come from, and per-node overrides.
  returned: when RV(calico_api_served)
  type: dict
  contains:
    inbound:
      description: Inbound failsafes, each with protocol, port and net.
      type: list
      elements: dict
      returned: always
    inbound_source:
      description: V(FelixConfiguration default) or V(Felix defaults).
      type: str
      returned: always
    outbound:
      description: Outbound failsafes.
      type: list
      elements: dict
      returned: always
    outbound_source:
      description: Where the outbound failsafes come from.
      type: str
      returned: always
    per_node:
      description: Nodes whose C(node.<name>) FelixConfiguration changes them.
      type: dict
      returned: always
failsafe_gaps:
  description: Each way the inbound failsafes fail to cover SSH (tcp 22) or the API server port; empty when they do.
  returned: when RV(calico_api_served)
  type: list
  elements: str
api_server_port:
  description: The API server port checked.
  returned: when RV(calico_api_served)
  type: int
auto_host_endpoints:
  description: Whether automatic HostEndpoints are created (C(auto_create)), the setting's C(source), the C(existing)
    automatic HostEndpoints and how they interact with this collection's (C(interaction)).
  returned: when RV(calico_api_served)
  type: dict
nodes:
  description: Every Kubernetes Node with C(name), C(internal_ips), C(hostnames), C(addresses) (InternalIPs plus the
    BGP and tunnel addresses Calico records), C(tunnel_addresses) and C(labels).
  returned: when RV(calico_api_served)
  type: list
  elements: dict
api_requests:
  description: API requests sent, by HTTP method.
  returned: always
  type: dict
"""

from ansible_collections.clusteredge.calico.plugins.module_utils._cluster_info_runner import run_cluster_info


def main():
    run_cluster_info()


if __name__ == "__main__":
    main()
