# -*- coding: utf-8 -*-
# Copyright (c) 2026, clusteredge platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every module's argument spec, in one place; each module documents the same options.

Private to this collection: no stability promise. Pure data. Connection options are kubernetes.core's own
(`AUTH_ARG_SPEC`), so module_defaults, kubeconfigs and K8S_AUTH_* variables work as they do there.
"""

from __future__ import annotations

import copy

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
except ImportError:
    AUTH_ARG_SPEC = {}  # the module reports the missing collection once it needs to connect

from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.exposure.params import DEFAULT_NODEPORT_RANGE, MODES
from ansible_collections.clusteredge.calico.plugins.module_utils._core.model.ownership import DEFAULT_OWNER
from ansible_collections.clusteredge.calico.plugins.module_utils._core.plan.state import STATES


def with_connection(options):
    """kubernetes.core's connection options plus `options`."""
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(options)
    return spec


def resource_module(item_spec, extra=None):
    """A resource module: `config` items of `item_spec`, the shared state options, `extra`, and the connection."""
    options = dict(
        config=dict(type="list", elements="dict", options=item_spec),
        state=dict(type="str", default="merged", choices=list(STATES)),
        owner=dict(type="str", default=DEFAULT_OWNER),
        adopt=dict(type="bool", default=False),
    )
    options.update(extra or {})
    return with_connection(options)


HOSTENDPOINT_ITEM = dict(
    name=dict(type="str", required=True),
    node=dict(type="str"),
    interface_name=dict(type="str"),
    expected_ips=dict(type="list", elements="str"),
    labels=dict(type="dict"),
    annotations=dict(type="dict"),
    profiles=dict(type="list", elements="str"),
    ports=dict(
        type="list",
        elements="dict",
        options=dict(
            name=dict(type="str", required=True),
            port=dict(type="int", required=True),
            protocol=dict(type="str", default="TCP"),
        ),
    ),
)

SERVICE_PORT = dict(
    name=dict(type="str"),
    port=dict(type="int", required=True),
    protocol=dict(type="str", default="TCP"),
    target_port=dict(type="raw"),
)

EXPOSURE_ITEM = dict(
    namespace=dict(type="str", required=True),
    name=dict(type="str", required=True),
    sources=dict(type="list", elements="str"),
    ports=dict(type="list", elements="raw"),
    cluster_ip=dict(type="str"),
    mode=dict(type="str", choices=list(MODES)),
    allow_cluster_clients=dict(type="bool"),
    allow_any_source=dict(type="bool", default=False),
    repin=dict(type="bool", default=False),
    allow_failsafe_ports=dict(type="bool", default=False),
    service=dict(
        type="dict",
        options=dict(
            cluster_ips=dict(type="list", elements="str", required=True),
            type=dict(type="str", default="ClusterIP"),
            external_traffic_policy=dict(type="str", default="Cluster"),
            selector=dict(type="dict", required=True),
            ports=dict(type="list", elements="dict", options=SERVICE_PORT, required=True),
        ),
    ),
)

EXPOSURE_OPTIONS = dict(
    node_selector=dict(type="str"),
    service_cidrs=dict(type="list", elements="str"),
    pod_cidrs=dict(type="list", elements="str"),
    node_addresses=dict(type="list", elements="str"),
    nodeport_range=dict(type="str", default=DEFAULT_NODEPORT_RANGE),
    name_prefix=dict(type="str", default="clusteredge"),
    require_advertised=dict(type="bool", default=False),
    remove_pins=dict(type="bool", default=True),
)

FLOW = dict(
    name=dict(type="str"),
    source=dict(type="str", required=True),
    destination=dict(type="str", required=True),
    port=dict(type="int", required=True),
    protocol=dict(type="str", default="TCP"),
    ingress_node=dict(type="str", required=True),
    interface=dict(type="str", default="eth0"),
    expect=dict(type="str", choices=["allow", "deny"]),
)

CALICO_HOSTENDPOINT = resource_module(HOSTENDPOINT_ITEM)
CALICO_CLUSTERIP_EXPOSURE = resource_module(EXPOSURE_ITEM, EXPOSURE_OPTIONS)
CALICO_FLOW_CHECK = with_connection(dict(
    flows=dict(type="list", elements="dict", options=FLOW, required=True),
    objects=dict(type="list", elements="dict"),
    pod_cidrs=dict(type="list", elements="str"),
    service_cidrs=dict(type="list", elements="str"),
    fail_on_mismatch=dict(type="bool", default=True),
))
CALICO_CLUSTER_INFO = with_connection(dict(api_server_port=dict(type="int")))
