#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: calico_clusterip_exposure
short_description: Protect BGP-advertised Service cluster IPs with Calico host and pod policy
version_added: 0.2.0
description:
  - Implements steps 1 to 4 of Calico's guide "Apply Calico policy to services exposed externally as cluster IPs"
    for any number of Services at once, by its intent rather than its literal text. See
    C(docs/clusterip-exposure.md) for every difference and the reason for it.
  - From outside the cluster, each listed Service's cluster IP answers only the listed source networks, on the
    listed service ports. Nothing else from outside reaches any address of the service ranges. Pod-to-pod
    traffic, in-cluster clients, the nodes' own traffic and egress keep working; Felix failsafe ports are never
    touched.
  - "Writes C(projectcalico.org/v3) GlobalNetworkPolicies that select only the node HostEndpoints (O(node_selector)):
    pre-DNAT allows per Service (sources to cluster IP and service ports, one IP family per rule, each rule annotated
    with its Service), pre-DNAT allows to the pod networks and from in-cluster sources, an explicit pre-DNAT deny of the
    service ranges, and a host-traffic policy (all ingress but the NodePort range, ICMP, and all egress)."
  - Writes one Calico NetworkPolicy per Service on its pods (from the Service's selector) that allows the node
    HostEndpoints, the nodes' own and tunnel addresses (one GlobalNetworkSet kept from the Node objects), the listed
    sources and, by default, in-cluster clients on the Service's target ports.
  - Pins each Service's cluster IPs. The pin is recorded on the pod policy and as annotations on the Service, so a
    later run notices a recreated Service and fails loudly if a previously exposed cluster IP now belongs to
    another Service. The module never deletes or recreates a Service.
  - Reads each kind once (Namespaces, Services, policies, HostEndpoints, Nodes, IPPools, BGPConfiguration,
    ServiceCIDRs) and writes only objects that change. Every input is checked before the first write.
  - Create these policies before the HostEndpoints, and delete the HostEndpoints before these policies; the module
    refuses to delete the host-traffic policy while selected HostEndpoints exist.
  - Works on Calico 3.28 to 3.32, with the Calico API server or Calico's native v3 CRDs. Where tiers exist (3.29 and
    later) every policy goes to tier V(default), sent with C(spec.tier) and its label as the server returns them, so
    what the server fills in never reads as a change. Policy names are DNS-1123 labels, the one form every release
    reads back the same (on 3.29.0 to 3.29.3 the server returns V(default.<name>), which the module recognises as its
    own). A policy of another team's tier that comes first decides first; M(clusteredge.calico.calico_flow_check)
    shows it.
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
      - One item per Service to expose. Required, and non-empty, for V(merged), V(replaced), V(overridden) and
        V(rendered).
      - At Service level the states mean what they mean for objects. V(merged) adds sources and ports to a
        Service's exposure, V(replaced) sets it exactly, V(overridden) makes the exposed Services exactly these
        (unlisting one removes its exposure), V(deleted) removes the listed exposures (all of this O(owner)'s when
        O(config) is empty).
    type: list
    elements: dict
    suboptions:
      namespace:
        description: Namespace of the Service.
        type: str
        required: true
      name:
        description: Name of the Service.
        type: str
        required: true
      sources:
        description:
          - Source networks (CIDRs, IPv4 and/or IPv6, no host bits) allowed to reach the Service from outside.
          - V(0.0.0.0/0) and V(::/0) need O(config[].allow_any_source).
          - An IPv6 source needs an IPv6 cluster IP on the Service, and likewise for IPv4.
        type: list
        elements: str
      ports:
        description:
          - Service ports to expose, by number or name. Default, every port of the Service.
        type: list
        elements: raw
      cluster_ip:
        description:
          - The cluster IP the Service is expected to have. When it has another, the task fails and writes nothing,
            because C(spec.clusterIP) is immutable and the module never recreates a Service.
        type: str
      mode:
        description:
          - V(cluster) for C(externalTrafficPolicy=Cluster), V(local) for C(Local) (NodePort and LoadBalancer Services
            only), V(auto) (default) from the Service's C(externalTrafficPolicy).
          - Both modes get the same host-level protection of the cluster IP, because kube-proxy masquerades
            off-cluster sources to a cluster IP whatever the external traffic policy; see the docs.
        type: str
        choices: [auto, cluster, local]
      allow_cluster_clients:
        description: Let pods of the cluster reach the Service's pods on its target ports (default V(true)).
        type: bool
      allow_any_source:
        description: Required to list V(0.0.0.0/0) or V(::/0) in O(config[].sources).
        type: bool
        default: false
      repin:
        description:
          - Move the exposure of a recreated Service to its current cluster IP even though its previous cluster IP now
            belongs to another Service (without it the task fails loudly).
        type: bool
        default: false
      allow_failsafe_ports:
        description:
          - Allow exposing a service port that is also a Felix inbound failsafe port (for example 22 or 6443). Felix
            accepts failsafe ports before any policy, so such a port of the cluster IP is reachable from every client
            through every node whatever O(config[].sources) says. Without this the task fails.
        type: bool
        default: false
      service:
        description:
          - Only for O(state=rendered), which reads no cluster. What would otherwise be read from the Service.
        type: dict
        suboptions:
          cluster_ips:
            description: The cluster IPs, primary first (two for dual-stack).
            type: list
            elements: str
            required: true
          type:
            description: Service type.
            type: str
            default: ClusterIP
          external_traffic_policy:
            description: V(Cluster) or V(Local).
            type: str
            default: Cluster
          selector:
            description: The Service's pod selector (label map).
            type: dict
            required: true
          ports:
            description: The Service's ports.
            type: list
            elements: dict
            required: true
            suboptions:
              name:
                description: Port name.
                type: str
              port:
                description: Service port.
                type: int
                required: true
              protocol:
                description: V(TCP), V(UDP) or V(SCTP).
                type: str
                default: TCP
              target_port:
                description: Target port on the pods, number or name (default, the service port).
                type: raw
  node_selector:
    description:
      - Calico selector of the node HostEndpoints the host policies apply to and the pod policies trust.
      - Default C(clusteredge.calico/owner == '<owner>'), the HostEndpoints M(clusteredge.calico.calico_hostendpoint)
        creates for the same O(owner). Never empty and never C(all()), which would select every pod too.
    type: str
  service_cidrs:
    description:
      - The service cluster IP ranges (one per family). Default, read from the ServiceCIDR API, else from
        C(BGPConfiguration default .spec.serviceClusterIPs); the task fails when none is found.
    type: list
    elements: str
  pod_cidrs:
    description:
      - The pod networks. Default, the CIDRs of every IPPool that serves workloads, disabled pools included.
    type: list
    elements: str
  node_addresses:
    description:
      - Only for O(state=rendered), which reads no cluster. The nodes' InternalIP and tunnel addresses, which the
        other states read from the Nodes. With them the rendering holds the node GlobalNetworkSet and the rules that
        trust it (pod policy for SNATed traffic, in-cluster sources at pre-DNAT), exactly as the module would write;
        without them those are left out, and the task warns.
    type: list
    elements: str
  nodeport_range:
    description: The NodePort range, kept out of the host-traffic allow as in the guide.
    type: str
    default: "30000:32767"
  name_prefix:
    description: Prefix of every policy name (a DNS label of at most 40 characters).
    type: str
    default: clusteredge
  require_advertised:
    description:
      - Fail, instead of warning, when a cluster IP is outside every C(serviceClusterIPs) range of
        C(BGPConfiguration default) (Calico then does not advertise it at all).
    type: bool
    default: false
  remove_pins:
    description:
      - When an exposure is removed, also remove this owner's pin annotations from the Service. V(false) keeps them as
        a record of the cluster IPs that were exposed.
    type: bool
    default: true
notes:
  - Check mode sends every write as a server-side dry run.
  - Pod policies, like any Calico policy that selects pods, make ingress to those pods that no policy allows
    denied; the Service's target ports are allowed from nodes, the listed sources and in-cluster clients.
seealso:
  - name: Calico guide
    description: Apply Calico policy to services exposed externally as cluster IPs (Calico 3.28).
    link: https://docs.tigera.io/calico/3.28/network-policy/services/services-cluster-ips
  - module: clusteredge.calico.calico_hostendpoint
"""

EXAMPLES = r"""
- name: Expose two Services to their client networks
  clusteredge.calico.calico_clusterip_exposure:
    config:
      - namespace: shop
        name: frontend
        sources: [50.60.0.0/16]
        ports: [80, 443]
      - namespace: shop
        name: api
        sources: [70.80.90.0/24, "2001:db8:70::/48"]
    state: merged
  register: exposure

- name: Preview a change with the API server's validation, writing nothing
  clusteredge.calico.calico_clusterip_exposure:
    config:
      - namespace: shop
        name: frontend
        sources: [50.60.0.0/16, 50.61.0.0/16]
    state: replaced
  check_mode: true
  diff: true

- name: Read back what is exposed
  clusteredge.calico.calico_clusterip_exposure:
    state: gathered
  register: exposed

- name: Render the guide's example without any cluster
  clusteredge.calico.calico_clusterip_exposure:
    config:
      - namespace: default
        name: svc-a
        sources: [50.60.0.0/16]
        service:
          cluster_ips: [10.20.30.40]
          selector: {k8s-svc: svc-a}
          ports: [{port: 80}, {port: 443}]
    node_selector: k8s-role == 'node'
    service_cidrs: [10.20.30.0/24]
    pod_cidrs: [192.168.0.0/16]
    node_addresses: [10.200.0.11, 10.200.0.12, 192.168.1.0, 192.168.2.0]
    state: rendered
  register: manifests

- name: Remove every exposure of this owner (delete the HostEndpoints first)
  clusteredge.calico.calico_clusterip_exposure:
    state: deleted
"""

RETURN = r"""
before:
  description: The exposures of this O(owner) before the task, in O(config) shape.
  returned: when O(state) is V(merged), V(replaced), V(overridden) or V(deleted)
  type: list
  elements: dict
after:
  description: The exposures after the task (in check mode, as they would be).
  returned: when O(state) is V(merged), V(replaced), V(overridden) or V(deleted)
  type: list
  elements: dict
exposures:
  description: Each exposed Service as resolved from the cluster.
  returned: when O(state) is V(merged), V(replaced), V(overridden), V(deleted) or V(rendered)
  type: list
  elements: dict
  sample:
    - namespace: shop
      name: frontend
      mode: cluster
      cluster_ips: [10.96.0.40]
      sources: [50.60.0.0/16]
      ports: [{port: 80, protocol: TCP, target_port: 8080, name: http}]
      allow_cluster_clients: true
changes:
  description: Objects created, updated and deleted, as C(Kind/name) or C(Kind/namespace/name).
  returned: when O(state) is V(merged), V(replaced), V(overridden) or V(deleted)
  type: dict
  sample: {created: [GlobalNetworkPolicy/clusteredge-deny-service-ranges], updated: [Service/shop/frontend], deleted: []}
policies:
  description: Every policy this owner's exposures consist of after the task.
  returned: when O(state) is V(merged), V(replaced), V(overridden) or V(deleted)
  type: list
  elements: str
service_ranges:
  description: The service ranges the explicit deny covers.
  returned: when the task read the cluster
  type: list
  elements: str
service_ranges_source:
  description: Where the service ranges came from (V(given), V(ServiceCIDR) or V(BGPConfiguration default)).
  returned: when the task read the cluster
  type: str
pod_ranges:
  description: The pod networks used.
  returned: when the task read the cluster
  type: list
  elements: str
node_report:
  description:
    - Per Kubernetes node, the HostEndpoints O(node_selector) selects, the node's InternalIP, BGP and tunnel
      addresses, and those missing from the HostEndpoints' expectedIPs (also reported as warnings).
  returned: when the task read the cluster
  type: list
  elements: dict
gathered:
  description: The exposures of this O(owner), in O(config) shape.
  returned: when O(state=gathered)
  type: list
  elements: dict
rendered:
  description: The GlobalNetworkPolicy and NetworkPolicy manifests.
  returned: when O(state=rendered)
  type: list
  elements: dict
api_requests:
  description: API requests sent, by HTTP method.
  returned: when the task connected to the cluster
  type: dict
errors:
  description: Every problem found, each naming the item and field, when the task failed before writing.
  returned: on failure before any write
  type: list
  elements: str
"""

from ansible_collections.clusteredge.calico.plugins.module_utils._core import argspec
from ansible_collections.clusteredge.calico.plugins.module_utils._core.runners.common import build_module, run_module
from ansible_collections.clusteredge.calico.plugins.module_utils._core.runners.exposure import run


def main():
    run_module(build_module(argspec.CALICO_CLUSTERIP_EXPOSURE), run)


if __name__ == "__main__":
    main()
