#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: calico_cluster_info
short_description: Read what a safe HostEndpoint rollout must know about a Calico cluster
version_added: 0.2.0
description:
  - Reads, with one request per kind, whether C(projectcalico.org/v3) is served and by what (the Calico API server, or
    Calico's native v3 CRDs), the Calico release and whether it is still supported, whether tiers and staged policies
    exist, the effective Felix failsafe ports (cluster-wide and per node, including FelixConfigurations that select
    nodes), the automatic HostEndpoints calico-kube-controllers creates (one V(*) per node, or from templates, by
    address or per interface) and how they meet this collection's, and every Node with its InternalIP, BGP and tunnel
    addresses.
  - Reports when the inbound failsafe ports no longer cover SSH or the API server, the two things that keep an operator
    able to repair a node whose HostEndpoint policy is wrong.
  - Never writes anything.
author:
  - clusteredge platform engineering (@clusteredge)
extends_documentation_fragment:
  - clusteredge.calico.k8s_auth_options
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
  description: Whether C(projectcalico.org/v3) is served (by the Calico API server or Calico's native v3 CRDs). When
    false, nothing else is read.
  returned: always
  type: bool
calico_api_message:
  description: Why the Calico API is not usable, naming what serves it (the Calico API server or the native v3 CRDs).
  returned: when RV(calico_api_served) is false
  type: str
calico_version:
  description: C(ClusterInformation default .spec.calicoVersion).
  returned: when RV(calico_api_served)
  type: str
  sample: v3.32.1
calico:
  description: The Calico release and how its API is served, as the collection adapts to it.
  returned: when RV(calico_api_served)
  type: dict
  contains:
    version:
      description: The reported release, as C(calico_version).
      type: str
      returned: always
    mode:
      description: V(apiserver) (the aggregated Calico API server) or V(crd) (Calico's native C(projectcalico.org/v3) CRDs).
      type: str
      returned: always
    serving:
      description: The same, in words.
      type: str
      returned: always
    support:
      description: V(supported) (one of the two newest release lines), V(out of support), V(too old),
        V(newer than this collection knows) or V(unknown).
      type: str
      returned: always
    version_problem:
      description: Why the role's preflight refuses this release, or null.
      type: str
      returned: always
    tiers:
      description: Whether policy tiers exist (every policy this collection writes goes to tier C(default)).
      type: bool
      returned: always
    builtin_tiers:
      description: The tiers Calico creates itself on this release.
      type: list
      elements: str
      returned: always
    staged_policies:
      description: Whether staged policy kinds are served (they are never enforced).
      type: bool
      returned: always
    selector_scoped_felix_configuration:
      description: Whether a FelixConfiguration may select nodes with C(nodeSelector) (taken into account in RV(failsafes)).
      type: bool
      returned: always
    auto_hostendpoint_templates:
      description: Whether KubeControllersConfiguration templates can create automatic HostEndpoints.
      type: bool
      returned: always
    per_interface_auto_hostendpoints:
      description: Whether templates can create one automatic HostEndpoint per interface.
      type: bool
      returned: always
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
      description: Nodes whose C(node.<name>) FelixConfiguration, or a FelixConfiguration that selects them, changes them.
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
  description: Whether automatic HostEndpoints are created (C(auto_create)), the setting's C(source), whether the V(*)
    one per node is (C(default_hostendpoint)), the C(templates), the C(existing) automatic HostEndpoints and their
    C(styles) (V(all-interfaces), V(template), V(per-interface)), automatic HostEndpoints that claim the interface of
    another HostEndpoint with the one Felix uses (C(competing)), and how they interact with this collection's
    (C(interaction)).
  returned: when RV(calico_api_served)
  type: dict
nodes:
  description: Every Kubernetes Node with C(name), C(internal_ips), C(hostnames), C(addresses) (InternalIPs plus the
    BGP and tunnel addresses Calico records), C(tunnel_addresses) and C(labels).
  returned: when RV(calico_api_served)
  type: list
  elements: dict
hostendpoints:
  description:
    - Every HostEndpoint, in the shape of M(clusteredge.calico.calico_hostendpoint)'s C(gathered) (C(name), C(node),
      C(interface_name), C(expected_ips), C(labels) without the owner label, C(annotations), C(profiles), C(ports)).
    - The clusterip_exposure role reads from them which hosts need their network facts.
  returned: when RV(calico_api_served)
  type: list
  elements: dict
  version_added: 0.3.0
api_requests:
  description: API requests sent, by HTTP method.
  returned: always
  type: dict
"""

from ansible_collections.clusteredge.calico.plugins.module_utils._core import argspec
from ansible_collections.clusteredge.calico.plugins.module_utils._core.runners.common import build_module, run_module
from ansible_collections.clusteredge.calico.plugins.module_utils._core.runners.cluster_info import run


def main():
    run_module(build_module(argspec.CALICO_CLUSTER_INFO), run)


if __name__ == "__main__":
    main()
