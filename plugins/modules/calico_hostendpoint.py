#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: calico_hostendpoint
short_description: Manage Calico HostEndpoints idempotently, in bulk
version_added: 0.2.0
description:
  - Creates, updates, prunes and reads Calico C(HostEndpoint) objects through the C(projectcalico.org/v3) API,
    served by the Calico API server or, on Calico 3.32, by Calico's native v3 CRDs. It never writes the internal
    C(crd.projectcalico.org/v1) resources.
  - One task handles any number of HostEndpoints with one LIST request and one write per object that actually
    changes. A run that changes nothing writes nothing.
  - Every object it creates carries the ownership label C(clusteredge.calico/owner). V(overridden) and
    V(deleted) touch only objects with this collection's O(owner) value, never automatic HostEndpoints of
    calico-kube-controllers and never objects of anyone else.
  - Validation follows Calico 3.28 (names, node, interface names, expected IPs, labels, named ports) and runs on
    every item before the first write.
  - Safety first. A HostEndpoint makes Calico deny all host traffic on its interface that no policy allows
    (apart from Felix's failsafe ports). Create the host policies that keep the node's own traffic working before
    the HostEndpoints, and delete HostEndpoints before those policies.
author:
  - clusteredge platform engineering (@clusteredge)
extends_documentation_fragment:
  - clusteredge.calico.k8s_auth_options
  - clusteredge.calico.resource_module
  - clusteredge.calico.attributes
requirements:
  - kubernetes >= 24.2.0 (Python library; not needed for O(state=rendered))
  - the kubernetes.core collection
options:
  config:
    description:
      - The HostEndpoints. Required, and non-empty, for V(merged), V(replaced), V(overridden) and V(rendered).
      - For V(deleted) and V(gathered) only O(config[].name) is used; an empty list means all objects (of this
        owner for V(deleted), of anyone for V(gathered)).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Name of the HostEndpoint, a DNS-1123 subdomain (lowercase letters, digits, C(-) and C(.)).
        type: str
        required: true
      node:
        description:
          - The Calico node name of the host, usually the Kubernetes node name. Felix only applies HostEndpoints
            of its own node.
          - Required except with V(merged) on an existing object, V(deleted) and V(gathered).
        type: str
      interface_name:
        description:
          - The Linux interface, at most 15 characters, or V(*) for all interfaces of the host (including C(lo),
            tunnels and pod veths).
          - May be omitted only when O(config[].expected_ips) is given; Felix then binds to the interface that
            holds one of those addresses.
        type: str
      expected_ips:
        description:
          - IP addresses (not CIDRs) of the interface. Policy rules that select this HostEndpoint by label match
            these addresses, so list every address that traffic from this node can carry, tunnel addresses
            included.
        type: list
        elements: str
      labels:
        description:
          - Labels for policy selectors, for example C(k8s-role=node). The ownership label is added by the module
            and may not be given; neither may C(projectcalico.org/created-by).
        type: dict
      annotations:
        description:
          - Annotations of the object.
        type: dict
      profiles:
        description:
          - Calico profiles applied after policies, for example V(projectcalico-default-allow).
        type: list
        elements: str
      ports:
        description:
          - Named ports that policy rules can refer to. Not allowed on a V(*) HostEndpoint.
        type: list
        elements: dict
        suboptions:
          name:
            description: Port name, IANA service-name rules (lowercase letters, digits and C(-), at most 15).
            type: str
            required: true
          port:
            description: Port number, 1 to 65535.
            type: int
            required: true
          protocol:
            description: V(TCP), V(UDP) or V(SCTP), exact case.
            type: str
            default: TCP
notes:
  - Check mode sends every write as a server-side dry run, so the API server validates it without saving it.
  - The C(K8S_AUTH_*) environment variables work as in kubernetes.core, which is how AWX's Kubernetes bearer-token
    credential reaches the module.
seealso:
  - name: Calico HostEndpoint reference
    description: Field reference of the projectcalico.org/v3 HostEndpoint resource.
    link: https://docs.tigera.io/calico/3.28/reference/resources/hostendpoint
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
- name: Create the node HostEndpoints (after the host policies exist)
  clusteredge.calico.calico_hostendpoint:
    config:
      - name: node-1-eth0
        node: node-1
        interface_name: eth0
        expected_ips: [10.99.0.11]
        labels:
          k8s-role: node
      - name: node-2-eth0
        node: node-2
        interface_name: eth0
        expected_ips: [10.99.0.12]
        labels:
          k8s-role: node
    state: merged

- name: Preview the change with the server's validation, writing nothing
  clusteredge.calico.calico_hostendpoint:
    config:
      - name: node-1-eth0
        node: node-1
        interface_name: eth0
        expected_ips: [10.99.0.11, 10.99.0.111]
        labels:
          k8s-role: node
    state: replaced
  check_mode: true
  diff: true

- name: Make this owner's HostEndpoints exactly these, pruning the rest
  clusteredge.calico.calico_hostendpoint:
    config:
      - name: node-1-eth0
        node: node-1
        interface_name: eth0
        expected_ips: [10.99.0.11]
        labels:
          k8s-role: node
    state: overridden

- name: Read every HostEndpoint of the cluster
  clusteredge.calico.calico_hostendpoint:
    state: gathered
  register: hostendpoints

- name: Render manifests without any cluster
  clusteredge.calico.calico_hostendpoint:
    config:
      - name: node-3-eth0
        node: node-3
        interface_name: eth0
        expected_ips: [10.99.0.13]
    state: rendered
  register: manifests

- name: Remove everything this collection created
  clusteredge.calico.calico_hostendpoint:
    state: deleted
"""

RETURN = r"""
before:
  description: The HostEndpoints in scope before the task, in O(config) shape. In scope are the objects of this
    O(owner) and every object named in O(config).
  returned: when O(state) is V(merged), V(replaced), V(overridden) or V(deleted)
  type: list
  elements: dict
  sample:
    - name: node-1-eth0
      node: node-1
      interface_name: eth0
      expected_ips: [10.99.0.11]
      labels: {k8s-role: node}
      annotations: {}
      profiles: []
      ports: []
after:
  description: The same objects after the task (in check mode, as the server's dry run predicts them).
  returned: when O(state) is V(merged), V(replaced), V(overridden) or V(deleted)
  type: list
  elements: dict
changes:
  description: Names of the HostEndpoints created, updated and deleted (or that would be, in check mode).
  returned: when O(state) is V(merged), V(replaced), V(overridden) or V(deleted)
  type: dict
  contains:
    created:
      description: Names created.
      type: list
      elements: str
      returned: always
    updated:
      description: Names updated.
      type: list
      elements: str
      returned: always
    deleted:
      description: Names deleted.
      type: list
      elements: str
      returned: always
  sample: {created: [node-3-eth0], updated: [], deleted: [old-node-eth0]}
gathered:
  description: The live HostEndpoints in O(config) shape, sorted by name. The ownership label is left out.
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description: The C(projectcalico.org/v3) manifests the items turn into.
  returned: when O(state=rendered)
  type: list
  elements: dict
  sample:
    - apiVersion: projectcalico.org/v3
      kind: HostEndpoint
      metadata:
        name: node-3-eth0
        labels: {clusteredge.calico/owner: clusteredge.calico}
      spec:
        node: node-3
        interfaceName: eth0
        expectedIPs: [10.99.0.13]
api_requests:
  description: Number of API requests the task sent, by HTTP method (retries of one request count once).
  returned: when the task connected to the cluster
  type: dict
  sample: {GET: 2, POST: 1}
errors:
  description: Every invalid input, each naming the item and field, when the task failed on its input.
  returned: on input failure
  type: list
  elements: str
"""

from ansible_collections.clusteredge.calico.plugins.module_utils._core import argspec
from ansible_collections.clusteredge.calico.plugins.module_utils._core.runners.common import build_module, run_module
from ansible_collections.clusteredge.calico.plugins.module_utils._core.runners.hostendpoint import run


def main():
    run_module(build_module(argspec.CALICO_HOSTENDPOINT), run)


if __name__ == "__main__":
    main()
