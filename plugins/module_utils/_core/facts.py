# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""One snapshot of the cluster, read in bulk: each kind with one request, whatever the number of objects.

Private to this collection: no stability promise. Every runner reads through `read_snapshot`, naming the fields
it needs; they are read in one fixed order, so a run's requests do not depend on which runner asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.clusteredge.calico.plugins.module_utils._core.api import resources as r
from ansible_collections.clusteredge.calico.plugins.module_utils._core.errors import ApiError
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.ownership import object_key

# What calico_clusterip_exposure writes or reads from projectcalico.org/v3: discovery must serve them all.
EXPOSURE_KINDS = (r.HOSTENDPOINTS, r.GLOBALNETWORKPOLICIES, r.NETWORKPOLICIES, r.GLOBALNETWORKSETS, r.IPPOOLS,
                  r.BGPCONFIGURATIONS, r.FELIXCONFIGURATIONS)


@dataclass
class ClusterSnapshot:
    """The objects a run reads; a field that was not asked for keeps its empty default."""

    profile: object = None  # api.profile.CalicoProfile: what this Calico release and mode do differently
    namespaces: list = field(default_factory=list)
    services: dict = field(default_factory=dict)  # "namespace/name" -> Service
    global_policies: list = field(default_factory=list)
    network_sets: list = field(default_factory=list)
    felix_configs: list = field(default_factory=list)
    kube_controllers_config: dict = None
    network_policies: list = field(default_factory=list)
    hostendpoints: list = field(default_factory=list)
    nodes: list = field(default_factory=list)
    ippools: list = field(default_factory=list)
    bgp_default: dict = None
    service_cidr_objects: list = field(default_factory=list)
    tiers: list = field(default_factory=list)
    pods: list = field(default_factory=list)
    api_server_service: dict = None

    @property
    def namespace_names(self):
        return set(o["metadata"]["name"] for o in self.namespaces)


def _list_first_served(client, resources):
    # ServiceCIDR is GA from Kubernetes 1.33 and beta before; a cluster without either has none.
    for resource in resources:
        try:
            return client.list(resource)
        except ApiError as exc:
            if exc.status not in (403, 404):
                raise
    return []


# Field -> how to read it, in the order every run reads.
_READERS = (
    ("namespaces", lambda client, snapshot: client.list(r.NAMESPACES)),
    ("services", lambda client, snapshot: dict((object_key(o), o) for o in client.list(r.SERVICES))),
    ("global_policies", lambda client, snapshot: client.list(r.GLOBALNETWORKPOLICIES)),
    ("network_sets", lambda client, snapshot: client.list(r.GLOBALNETWORKSETS)),
    ("felix_configs", lambda client, snapshot: client.list(r.FELIXCONFIGURATIONS)),
    ("kube_controllers_config", lambda client, snapshot: client.get(r.KUBECONTROLLERSCONFIGURATIONS, "default")),
    ("network_policies", lambda client, snapshot: client.list(r.NETWORKPOLICIES)),
    ("hostendpoints", lambda client, snapshot: client.list(r.HOSTENDPOINTS)),
    ("nodes", lambda client, snapshot: client.list(r.NODES)),
    ("ippools", lambda client, snapshot: client.list(r.IPPOOLS)),
    ("bgp_default", lambda client, snapshot: client.get(r.BGPCONFIGURATIONS, "default")),
    ("service_cidr_objects", lambda client, snapshot: _list_first_served(client, r.SERVICECIDRS)),
    # Where tiers exist, every tier's policies take part in a verdict, in tier order.
    ("tiers", lambda client, snapshot: client.list(r.TIERS) if snapshot.profile.has_tiers else []),
    ("pods", lambda client, snapshot: client.list(r.PODS)),
    ("api_server_service", lambda client, snapshot: client.get(r.SERVICES, "kubernetes", namespace="default")),
)
FIELDS = tuple(name for name, _reader in _READERS)
EXPOSURE_FIELDS = ("namespaces", "services", "global_policies", "network_sets", "felix_configs", "network_policies",
                   "hostendpoints", "nodes", "bgp_default")


def exposure_fields(params):
    """What an exposure (and a flow check) reads: the IPPools and ServiceCIDRs only when their ranges are not given."""
    return EXPOSURE_FIELDS + (() if params.get("pod_cidrs") else ("ippools",)) + (() if params.get("service_cidrs") else ("service_cidr_objects",))


def read_snapshot(client, fields, required_kinds=EXPOSURE_KINDS, profile=None):
    """Read `fields` (names of ClusterSnapshot fields), one request each, after checking Calico serves `required_kinds`.

    `profile`: the CalicoProfile when the caller already asked for it (then discovery is not repeated).
    """
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError("not a snapshot field: %s" % ", ".join(sorted(unknown)))
    snapshot = ClusterSnapshot(profile=profile or client.require_calico_api(list(required_kinds)))
    for name, reader in _READERS:
        if name in fields:
            setattr(snapshot, name, reader(client, snapshot))
    return snapshot
