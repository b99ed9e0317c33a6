# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The API resources this collection reads and writes, and how their REST paths are built.

Private to this collection: no stability promise. Pure: no I/O.
Only `projectcalico.org/v3` is ever written; `crd.projectcalico.org/v1` is Calico's internal
storage (different names, no validation or defaulting) and is never used.
"""

from __future__ import annotations

CALICO_GROUP = "projectcalico.org"
CALICO_API_VERSION = CALICO_GROUP + "/v3"


class ApiResource(object):
    """Where a kind lives in the API: enough to build every REST path for it."""

    __slots__ = ("api_version", "kind", "plural", "namespaced")

    def __init__(self, api_version, kind, plural, namespaced=False):
        self.api_version = api_version
        self.kind = kind
        self.plural = plural
        self.namespaced = namespaced

    @property
    def base_path(self):
        return "/api/%s" % self.api_version if "/" not in self.api_version else "/apis/%s" % self.api_version

    def collection_path(self, namespace=None):
        if self.namespaced and namespace:
            return "%s/namespaces/%s/%s" % (self.base_path, namespace, self.plural)
        return "%s/%s" % (self.base_path, self.plural)

    def object_path(self, name, namespace=None):
        return "%s/%s" % (self.collection_path(namespace), name)


HOSTENDPOINTS = ApiResource(CALICO_API_VERSION, "HostEndpoint", "hostendpoints")
GLOBALNETWORKPOLICIES = ApiResource(CALICO_API_VERSION, "GlobalNetworkPolicy", "globalnetworkpolicies")
NETWORKPOLICIES = ApiResource(CALICO_API_VERSION, "NetworkPolicy", "networkpolicies", namespaced=True)
IPPOOLS = ApiResource(CALICO_API_VERSION, "IPPool", "ippools")
BGPCONFIGURATIONS = ApiResource(CALICO_API_VERSION, "BGPConfiguration", "bgpconfigurations")

SERVICES = ApiResource("v1", "Service", "services", namespaced=True)
NAMESPACES = ApiResource("v1", "Namespace", "namespaces")
NODES = ApiResource("v1", "Node", "nodes")
# ServiceCIDR is GA in networking.k8s.io/v1 from Kubernetes 1.33, beta before; read whichever is served.
SERVICECIDRS = (
    ApiResource("networking.k8s.io/v1", "ServiceCIDR", "servicecidrs"),
    ApiResource("networking.k8s.io/v1beta1", "ServiceCIDR", "servicecidrs"),
)
FELIXCONFIGURATIONS = ApiResource(CALICO_API_VERSION, "FelixConfiguration", "felixconfigurations")
KUBECONTROLLERSCONFIGURATIONS = ApiResource(CALICO_API_VERSION, "KubeControllersConfiguration", "kubecontrollersconfigurations")
CLUSTERINFORMATIONS = ApiResource(CALICO_API_VERSION, "ClusterInformation", "clusterinformations")
GLOBALNETWORKSETS = ApiResource(CALICO_API_VERSION, "GlobalNetworkSet", "globalnetworksets")
TIERS = ApiResource(CALICO_API_VERSION, "Tier", "tiers")
PODS = ApiResource("v1", "Pod", "pods", namespaced=True)
