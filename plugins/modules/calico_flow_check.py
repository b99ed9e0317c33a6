#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: calico_flow_check
short_description: Decide flows the way Calico would, before traffic hits them
version_added: 0.2.0
description:
  - Answers "would this client reach this cluster IP (or node) through this node, and which rule decides?" from the
    HostEndpoints, GlobalNetworkPolicies, NetworkPolicies, GlobalNetworkSets, Tiers, Felix failsafe ports, Services, Pods
    and Nodes, read from the API with one request per kind, or given as O(objects) (for example the output of
    O(clusteredge.calico.calico_clusterip_exposure#module:state=rendered)).
  - Models Calico's iptables dataplane with kube-proxy in iptables mode. That covers untracked, pre-DNAT and normal
    host endpoint policy, applyOnForward, failsafe ports, policy order and name ties, and first-match Allow, Deny, Pass
    and Log. It also covers the end-of-policy drop against the pre-DNAT fall-through, profiles, named against V(*)
    HostEndpoints, kube-proxy's DNAT to a local or a remote backend with its SNAT, and the backend pod's own ingress
    policy.
  - Where tiers exist (Calico 3.29 and later), every tier takes part, in tier order, a tier's end dropping
    unless its C(defaultAction) is V(Pass), except at pre-DNAT, where an unmatched packet goes on to the next tier and
    stage. A verdict decided in a tier other than V(default) names the tier. Staged policies are never enforced and
    are not read. Where tiered RBAC hides some tiers' policies from the identity's lists, they cannot be taken into
    account (see the ClusterRole in the collection's docs/rbac.md).
  - Traffic a node's own processes send (O(flows[].source=node)) takes the egress path, untracked egress, outbound
    failsafes, then normal egress policy and profiles, and then the receiving end (the node itself over V(lo), another
    node, a pod, or a Service's backends after kube-proxy's DNAT).
  - Every verdict comes with its path, stage by stage, and the policy and rule (or the default) that decided.
  - A flow through a Service is checked for every backend case (a backend on the ingress node, one elsewhere). An
    expectation holds only when every case meets it, because kube-proxy may pick either.
  - Reads only; never writes.
author:
  - clusteredge platform engineering (@clusteredge)
extends_documentation_fragment:
  - clusteredge.calico.k8s_auth_options
  - clusteredge.calico.attributes.info_module
options:
  flows:
    description: The flows to decide.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: A label for messages.
        type: str
      source:
        description:
          - Source IP address, or V(pod:any) for an in-cluster client, a pod that is no backend of the destination
            Service (it then enters at its own node).
          - V(node) for a process on O(flows[].ingress_node) itself (kubelet, a package download, DNS), sending from
            its address of the destination's family; O(flows[].interface) is then the interface it leaves by.
        type: str
        required: true
      destination:
        description:
          - Destination IP address, a cluster IP, a node address or a pod IP; or V(pod:<namespace>/<service>) for the
            Service's first backend pod, O(flows[].port) then being a service port, mapped to its target port.
        type: str
        required: true
      port:
        description: Destination port.
        type: int
        required: true
      protocol:
        description: V(TCP), V(UDP) or V(SCTP).
        type: str
        default: TCP
      ingress_node:
        description: The Kubernetes node the packet enters through, or sends it when O(flows[].source=node).
        type: str
        required: true
      interface:
        description: The node interface it arrives on (leaves by, for O(flows[].source=node)).
        type: str
        default: eth0
      expect:
        description: The verdict the flow must get; the task fails when it does not (see O(fail_on_mismatch)).
        type: str
        choices: [allow, deny]
  objects:
    description:
      - Decide from these objects only, without any cluster (HostEndpoint, GlobalNetworkPolicy, NetworkPolicy,
        GlobalNetworkSet, Tier, FelixConfiguration, Service, Node, Pod, Namespace, EndpointSlice). Without Tier objects,
        every policy is in one tier, as before Calico 3.29.
    type: list
    elements: dict
  pod_cidrs:
    description: Pod networks; default, the IPPools (or none with O(objects)).
    type: list
    elements: str
  service_cidrs:
    description: Service ranges; default, discovered as calico_clusterip_exposure does (or none with O(objects)).
    type: list
    elements: str
  fail_on_mismatch:
    description: Fail the task, naming each flow and the rule that decided it, when an expectation is not met.
    type: bool
    default: true
notes:
  - Not modelled - the outer IPIP or VXLAN packet between nodes, return traffic of untracked flows, the eBPF
    dataplane, and kube-proxy in IPVS or nftables mode.
requirements:
  - kubernetes >= 24.2.0 (Python library), unless O(objects) is given
  - the kubernetes.core collection
"""

EXAMPLES = r"""
- name: An unlisted client must not reach the frontend, a listed one must, through every node
  clusteredge.calico.calico_flow_check:
    flows:
      - {name: listed client, source: 50.60.0.10, destination: 10.96.0.40, port: 443, ingress_node: node-1, expect: allow}
      - {name: unlisted client, source: 203.0.113.9, destination: 10.96.0.40, port: 443, ingress_node: node-1, expect: deny}
      - {name: ssh to node-1, source: 203.0.113.9, destination: 10.200.0.11, port: 22, ingress_node: node-1, expect: allow}
      - {name: node-1 downloads images, source: node, destination: 203.0.113.50, port: 443, ingress_node: node-1, expect: allow}
  register: flows

- name: Show why
  ansible.builtin.debug:
    msg: "{{ flows.flows | map(attribute='verdicts') | flatten | map(attribute='explanation') | list }}"
"""

RETURN = r"""
flows:
  description: One result per flow.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The flow's label.
      type: str
      returned: always
    expect:
      description: The expectation, if any.
      type: str
      returned: always
    ok:
      description: Whether the expectation is met (true without one).
      type: bool
      returned: always
    allowed:
      description: Allowed in every backend case.
      type: bool
      returned: always
    denied:
      description: Denied in every backend case.
      type: bool
      returned: always
    verdicts:
      description: Per backend case (V(local), V(remote), or V(none) without DNAT), C(allowed), C(decided_by) and the
        stage-by-stage C(explanation).
      type: list
      elements: dict
      returned: always
checked:
  description: Number of flows decided.
  returned: always
  type: int
mismatches:
  description: Number of flows whose expectation is not met.
  returned: always
  type: int
api_requests:
  description: API requests sent, by HTTP method (none with O(objects)).
  returned: always
  type: dict
"""

from ansible_collections.clusteredge.calico.plugins.module_utils._core import argspec
from ansible_collections.clusteredge.calico.plugins.module_utils._core.runners.common import build_module, run_module
from ansible_collections.clusteredge.calico.plugins.module_utils._core.runners.flow_check import run


def main():
    run_module(build_module(argspec.CALICO_FLOW_CHECK), run)


if __name__ == "__main__":
    main()
