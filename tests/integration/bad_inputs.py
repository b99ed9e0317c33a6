"""Every bad input of the collection in one table: the modules, the auth options they share, the role's variables and
the inventories it runs on. test_bad_input.py runs each row and checks that it fails with these words and writes nothing.

A row: (surface, case id, input, seed, fragments of the message the user sees).
- Module surfaces: the input is the module's arguments. calico_clusterip_exposure rows run against namespace shop
  (Services of every shape, see test_bad_input.shop); `{name}` in a fragment is the cluster IP of Service shop/<name>.
  calico_hostendpoint rows get one valid item put first when every item names a node.
- auth: the input is dict(module=, args=, env=) (env: K8S_AUTH_* variables to set, None to unset).
- role and inventory: the input is dict(vars=role variables, hosts=inventory hosts); both default to a valid run of
  two local hosts mapped to node-1 and node-2 on interface lo (see test_bad_input.role_hosts).
- seed: None, or a function (api, ctx) that prepares the cluster (ctx: ips, expose, env, args, tmp_path), or
  NO_CALICO_API for an API server without the Calico API server.
"""

from __future__ import annotations

import collections
import ipaddress
import json
import subprocess

from integration import cluster
from integration.conftest import node_hep
from clusteredge_testworld.lab.cluster import nodes as lab_nodes

Row = collections.namedtuple("Row", "surface id input seed fragments")

HEP = "calico_hostendpoint"
EXPOSURE = "calico_clusterip_exposure"
FLOW = "calico_flow_check"
INFO = "calico_cluster_info"
AUTH = "auth"
ROLE = "role"
INVENTORY = "inventory"
MODULE_SURFACES = (HEP, EXPOSURE, FLOW, INFO, AUTH)
PLAYBOOK_SURFACES = (ROLE, INVENTORY)
NO_CALICO_API = "no Calico API server"


def dynamic(api):
    from kubernetes.dynamic import DynamicClient

    return DynamicClient(api.api_client())


def delete(api, api_version, kind, name, namespace=None):
    dynamic(api).resources.get(api_version=api_version, kind=kind).delete(name=name, namespace=namespace)


# -- calico_hostendpoint ------------------------------------------------------------------------------

GOOD = node_hep("node-1-eth0", "node-1", "10.99.0.11")
VALID_FIRST = node_hep("valid-first", "node-0", "10.99.0.1")


def hand_made(api, ctx):
    api.seed([{"apiVersion": "projectcalico.org/v3", "kind": "HostEndpoint",
               "metadata": {"name": "hand-made"}, "spec": {"node": "node-9", "interfaceName": "eth1"}}])


def auto_hep(api, ctx):
    api.seed([{"apiVersion": "projectcalico.org/v3", "kind": "HostEndpoint",
               "metadata": {"name": "node-1-auto-hep", "labels": {"projectcalico.org/created-by": "calico-kube-controllers"}},
               "spec": {"node": "node-1", "interfaceName": "*"}}])


HOSTENDPOINT_ROWS = [
    Row(HEP, "cidr-as-expected-ip", dict(config=[dict(GOOD, expected_ips=["10.99.0.0/24"])]), None,
        ["config[1]", "expected_ips[0]", "'10.99.0.0/24' is a CIDR"]),
    Row(HEP, "not-an-ip", dict(config=[dict(GOOD, expected_ips=["10.99.0.300"])]), None,
        ["expected_ips[0]", "not an IPv4 or IPv6 address"]),
    Row(HEP, "uppercase-name", dict(config=[dict(GOOD, name="Node-1")]), None, ["(HostEndpoint 'Node-1')", "name:", "DNS-1123 subdomain"]),
    Row(HEP, "underscore-name", dict(config=[dict(GOOD, name="node_1")]), None, ["(HostEndpoint 'node_1')", "name:"]),
    Row(HEP, "16-char-interface", dict(config=[dict(GOOD, interface_name="enp0s31f6abcdefg")]), None,
        ["interface_name", "16 characters", "at most 15"]),
    Row(HEP, "interface-with-slash", dict(config=[dict(GOOD, interface_name="eth0/1")]), None, ["interface_name", "'eth0/1'"]),
    Row(HEP, "missing-node", dict(config=[dict(GOOD, node=None)], state="replaced"), None, ["node: is required"]),
    Row(HEP, "invalid-node-name", dict(config=[dict(GOOD, node="Node.One")]), None, ["node:", "DNS-1123"]),
    Row(HEP, "no-interface-no-ips", dict(config=[dict(GOOD, interface_name=None, expected_ips=[])], state="replaced"), None,
        ["interface_name", "at least one expected IP"]),
    Row(HEP, "duplicate-names", dict(config=[GOOD, GOOD]), None, ["config[2]", "duplicate of config[1]"]),
    Row(HEP, "duplicate-expected-ip", dict(config=[dict(GOOD, expected_ips=["10.99.0.11", "10.99.0.11"])]), None,
        ["expected_ips[1]", "listed twice"]),
    Row(HEP, "wildcard-with-named-ports", dict(config=[dict(GOOD, interface_name="*", ports=[dict(name="https", port=443)])]), None,
        ["ports", "all-interfaces ('*')"]),
    Row(HEP, "bad-port-name", dict(config=[dict(GOOD, ports=[dict(name="HTTPS", port=443)])]), None, ["ports[0]", "'HTTPS'"]),
    Row(HEP, "port-out-of-range", dict(config=[dict(GOOD, ports=[dict(name="https", port=70000)])]), None, ["ports[0]", "70000"]),
    Row(HEP, "protocol-wrong-case", dict(config=[dict(GOOD, ports=[dict(name="dns", port=53, protocol="udp")])]), None,
        ["ports[0]", "'udp'", "exact case"]),
    Row(HEP, "bad-label-key", dict(config=[dict(GOOD, labels={"k8s role": "node"})]), None, ["labels", "'k8s role'"]),
    Row(HEP, "bad-label-value", dict(config=[dict(GOOD, labels={"k8s-role": "node!"})]), None, ["labels", "'node!'"]),
    Row(HEP, "reserved-owner-label", dict(config=[dict(GOOD, labels={"clusteredge.calico/owner": "me"})]), None, ["labels", "reserved"]),
    Row(HEP, "kube-controllers-label", dict(config=[dict(GOOD, labels={"projectcalico.org/created-by": "calico-kube-controllers"})]), None,
        ["labels", "reserved"]),
    Row(HEP, "bad-profile", dict(config=[dict(GOOD, profiles=["Default_Allow"])]), None, ["profiles[0]"]),
    Row(HEP, "empty-config-overridden", dict(config=[], state="overridden"), None, ["state=overridden needs at least one item", "state=deleted"]),
    Row(HEP, "bad-owner", dict(config=[GOOD], owner="team b"), None, ["owner:"]),
    Row(HEP, "foreign-object-in-overridden", dict(config=[dict(GOOD, name="hand-made")], state="overridden"), hand_made,
        ["config[1]", "'hand-made'", "not created by this collection", "adopt"]),
    Row(HEP, "auto-hep-even-with-adopt", dict(config=[dict(GOOD, name="node-1-auto-hep")], adopt=True), auto_hep,
        ["'node-1-auto-hep'", "calico-kube-controllers"]),
    Row(HEP, "foreign-object-in-deleted", dict(config=[dict(name="hand-made")], state="deleted"), hand_made,
        ["'hand-made'", "cannot delete"]),
    Row(HEP, "unknown-state", dict(config=[GOOD], state="present"), None, ["state", "merged", "present"]),
    Row(HEP, "unknown-option", dict(config=[dict(GOOD, interface="eth0")]), None, ["interface"]),
]

# -- calico_clusterip_exposure ------------------------------------------------------------------------

VALID = dict(namespace="shop", name="frontend", sources=["50.60.0.0/16"])
API = dict(namespace="shop", name="api", sources=["70.80.90.0/24"])
# What state=rendered needs instead of a cluster.
RENDERED_SERVICE = dict(cluster_ips=["10.20.30.40"], selector={"app": "frontend"}, ports=[dict(port=80)])
RENDERED_VALID = dict(VALID, service=RENDERED_SERVICE)
RENDERED_RANGES = dict(service_cidrs=["10.20.30.0/24"], pod_cidrs=["192.168.0.0/16"])


def api_item(**fields):
    return dict(API, **fields)


def no_service_range(api, ctx):
    """No ServiceCIDR object and no serviceClusterIPs in BGPConfiguration default."""
    delete(api, "networking.k8s.io/v1", "ServiceCIDR", "kubernetes")
    api.seed([cluster.bgp_default([])])
    assert api.objects("ServiceCIDR") == []


def narrow_advertisement(api, ctx):
    api.seed([cluster.bgp_default(["10.100.0.0/24"])])


def _expose_then_hand_ip_to_b(api, ctx):
    """Expose shop/a, delete it, create shop/b with a's old cluster IP (through the API)."""
    created = cluster.create(api, [cluster.service("shop", "a", ports=((80, "TCP", 8080),))])
    ctx.ips["a"] = created[0]["spec"]["clusterIP"]
    result = ctx.expose(config=[dict(namespace="shop", name="a", sources=["60.70.0.0/16"])], state="merged")
    assert not result.failed, result
    delete(api, "v1", "Service", "a", namespace="shop")
    created = cluster.create(api, [cluster.service("shop", "b", ports=((80, "TCP", 8080),), cluster_ip=ctx.ips["a"])])
    assert created[0]["spec"]["clusterIP"] == ctx.ips["a"]


def ip_reused_after_delete(api, ctx):
    _expose_then_hand_ip_to_b(api, ctx)


def ip_reused_after_recreate(api, ctx):
    """As above, and shop/a is created again (so it gets a new cluster IP)."""
    _expose_then_hand_ip_to_b(api, ctx)
    created = cluster.create(api, [cluster.service("shop", "a", ports=((80, "TCP", 8080),))])
    assert created[0]["spec"]["clusterIP"] != ctx.ips["a"]


EXPOSURE_ROWS = [
    # -- sources
    Row(EXPOSURE, "source-not-a-cidr", dict(config=[VALID, api_item(sources=["not-a-network"])]), None,
        ["config[1] (Service shop/api)", "sources[0]", "'not-a-network' is not a CIDR"]),
    Row(EXPOSURE, "source-prefix-too-long", dict(config=[VALID, api_item(sources=["70.80.90.0/33"])]), None,
        ["config[1] (Service shop/api)", "sources[0]", "'70.80.90.0/33' is not a valid CIDR"]),
    Row(EXPOSURE, "source-host-bits", dict(config=[VALID, api_item(sources=["70.80.90.7/24"])]), None,
        ["config[1] (Service shop/api)", "sources[0]", "host bits set", "did you mean 70.80.90.0/24?"]),
    Row(EXPOSURE, "source-bare-ip", dict(config=[VALID, api_item(sources=["70.80.90.0/24", "70.80.91.7"])]), None,
        ["config[1] (Service shop/api)", "sources[1]", "'70.80.91.7' is not a CIDR", "address/prefix-length"]),
    Row(EXPOSURE, "source-any-ipv4", dict(config=[VALID, api_item(sources=["0.0.0.0/0"])]), None,
        ["config[1] (Service shop/api)", "sources[0]", "0.0.0.0/0 allows every address", "allow_any_source: true"]),
    Row(EXPOSURE, "source-any-ipv6", dict(config=[VALID, api_item(sources=["::/0"])]), None,
        ["config[1] (Service shop/api)", "sources[0]", "::/0 allows every address", "allow_any_source: true"]),
    Row(EXPOSURE, "source-twice", dict(config=[VALID, api_item(sources=["70.80.90.0/24", "70.80.90.0/24"])]), None,
        ["config[1] (Service shop/api)", "sources[1]", "70.80.90.0/24 is listed twice"]),
    Row(EXPOSURE, "ipv6-source-ipv4-only-service", dict(config=[VALID, api_item(sources=["2001:db8:70::/48"])]), None,
        ["config[1] (Service shop/api)", "IPv6 sources 2001:db8:70::/48", "has no IPv6 cluster IP"]),
    Row(EXPOSURE, "replaced-without-sources", dict(config=[VALID, dict(namespace="shop", name="api")], state="replaced"), None,
        ["config[1] (Service shop/api)", "sources:", "give at least one allowed source network"]),
    Row(EXPOSURE, "overridden-empty-sources", dict(config=[VALID, api_item(sources=[])], state="overridden"), None,
        ["config[1] (Service shop/api)", "sources:", "give at least one allowed source network"]),
    # -- ports
    Row(EXPOSURE, "port-number-not-in-service", dict(config=[VALID, dict(VALID, name="api", ports=[9090])]), None,
        ["config[1] (Service shop/api)", "port 9090 is not a port of the Service", "8080/TCP (p8080)"]),
    Row(EXPOSURE, "port-name-not-in-service", dict(config=[VALID, dict(VALID, name="api", ports=["https"])]), None,
        ["config[1] (Service shop/api)", "port 'https' is not a port of the Service", "8080/TCP (p8080)"]),
    Row(EXPOSURE, "port-zero", dict(config=[VALID, api_item(ports=[0])]), None,
        ["config[1] (Service shop/api)", "ports[0]", "port 0 must be an integer from 1 to 65535"]),
    Row(EXPOSURE, "port-70000", dict(config=[VALID, api_item(ports=[8080, 70000])]), None,
        ["config[1] (Service shop/api)", "ports[1]", "port 70000 must be an integer from 1 to 65535"]),
    Row(EXPOSURE, "port-bad-name", dict(config=[VALID, api_item(ports=["HTTP_API"])]), None,
        ["config[1] (Service shop/api)", "ports[0]", "'HTTP_API'", "lowercase letters, digits and '-'"]),
    Row(EXPOSURE, "port-twice", dict(config=[VALID, api_item(ports=[8080, 8080])]), None,
        ["config[1] (Service shop/api)", "ports[1]", "port 8080 is listed twice"]),
    Row(EXPOSURE, "ports-empty-list", dict(config=[VALID, api_item(ports=[])]), None,
        ["config[1] (Service shop/api)", "ports:", "leave ports out to expose every port"]),
    # -- the Service itself
    Row(EXPOSURE, "unknown-service", dict(config=[VALID, dict(VALID, name="nosuch")]), None,
        ["config[1] (Service shop/nosuch)", "Service not found"]),
    Row(EXPOSURE, "unknown-namespace", dict(config=[VALID, dict(VALID, namespace="nowhere")]), None,
        ["config[1] (Service nowhere/frontend)", "namespace 'nowhere' does not exist"]),
    Row(EXPOSURE, "headless-service", dict(config=[VALID, dict(VALID, name="headless")]), None,
        ["config[1] (Service shop/headless)", "is headless (clusterIP: None)", "no cluster IP"]),
    Row(EXPOSURE, "externalname-service", dict(config=[VALID, dict(VALID, name="extname")]), None,
        ["config[1] (Service shop/extname)", "is an ExternalName Service", "no cluster IP"]),
    Row(EXPOSURE, "selectorless-service", dict(config=[VALID, dict(VALID, name="manual")]), None,
        ["config[1] (Service shop/manual)", "has no selector", "no pod policy can select its pods"]),
    Row(EXPOSURE, "cluster-ip-mismatch", dict(config=[VALID, api_item(cluster_ip="10.96.200.200")]), None,
        ["config[1] (Service shop/api)", "expected cluster IP 10.96.200.200 but the Service has {api}", "immutable"]),
    Row(EXPOSURE, "cluster-ip-invalid", dict(config=[VALID, api_item(cluster_ip="10.96.0.300")]), None,
        ["config[1] (Service shop/api)", "cluster_ip:", "'10.96.0.300' is not an IPv4 or IPv6 address"]),
    Row(EXPOSURE, "cluster-ip-as-cidr", dict(config=[VALID, api_item(cluster_ip="10.96.0.10/32")]), None,
        ["config[1] (Service shop/api)", "cluster_ip:", "'10.96.0.10/32' is a CIDR"]),
    Row(EXPOSURE, "local-mode-on-clusterip", dict(config=[VALID, api_item(mode="local")]), None,
        ["config[1] (Service shop/api)", "mode local needs a NodePort or LoadBalancer Service", "this one is ClusterIP"]),
    Row(EXPOSURE, "local-mode-etp-cluster", dict(config=[VALID, dict(VALID, name="nodeport", mode="local")]), None,
        ["config[1] (Service shop/nodeport)", "mode local but the Service's externalTrafficPolicy is Cluster"]),
    Row(EXPOSURE, "unknown-mode", dict(config=[VALID, api_item(mode="direct")]), None,
        ["mode", "auto, cluster, local", "direct"]),
    Row(EXPOSURE, "cluster-ip-outside-known-ranges", dict(config=[VALID, API], service_cidrs=["10.200.0.0/16"]), None,
        ["config[1] (Service shop/api)", "cluster IP {api} is in no known service range (known: 10.200.0.0/16)",
         "give service_cidrs"]),
    Row(EXPOSURE, "no-service-range-discoverable", dict(config=[VALID]), no_service_range,
        ["service_cidrs:", "no service cluster IP range found", "give service_cidrs"]),
    Row(EXPOSURE, "require-advertised", dict(config=[VALID, API], require_advertised=True), narrow_advertisement,
        ["config[1] (Service shop/api): cluster IP {api} of Service shop/api", "outside every serviceClusterIPs range of BGPConfiguration default "
         "(10.100.0.0/24)", "does not advertise it"]),
    Row(EXPOSURE, "cluster-ip-reused-by-another-service", dict(config=[VALID], state="merged"), ip_reused_after_recreate,
        ["cluster IP {a} was exposed for shop/a", "now belongs to shop/b", "state=deleted", "repin: true"]),
    Row(EXPOSURE, "cluster-ip-reused-after-delete", dict(config=[VALID], state="merged"), ip_reused_after_delete,
        ["cluster IP {a} was exposed for shop/a", "now belongs to shop/b"]),
    # -- identity of the items
    Row(EXPOSURE, "uppercase-namespace", dict(config=[VALID, dict(VALID, namespace="Shop")]), None,
        ["config[1] (Service Shop/frontend)", "namespace:", "DNS-1123 label"]),
    Row(EXPOSURE, "uppercase-name", dict(config=[VALID, dict(VALID, name="Web")]), None,
        ["config[1] (Service shop/Web)", "name:", "DNS-1123 label"]),
    Row(EXPOSURE, "name-starts-with-digit", dict(config=[VALID, dict(VALID, name="1web")]), None,
        ["config[1] (Service shop/1web)", "name:", "must start with a letter"]),
    Row(EXPOSURE, "duplicate-service", dict(config=[VALID, API, dict(VALID, sources=["50.61.0.0/16"])]), None,
        ["config[2] (Service shop/frontend)", "duplicate of config[0]", "once per call"]),
    # -- node selector
    Row(EXPOSURE, "node-selector-syntax", dict(config=[VALID], node_selector="k8s-role = 'node'"), None,
        ["node_selector:", "invalid selector", "k8s-role = 'node'"]),
    Row(EXPOSURE, "node-selector-all", dict(config=[VALID], node_selector="all()"), None,
        ["node_selector:", "must select only the node HostEndpoints", "all()"]),
    Row(EXPOSURE, "node-selector-all-in-parentheses", dict(config=[VALID], node_selector="(all())"), None,
        ["node_selector:", "also selects pods", "must select only the node HostEndpoints"]),
    Row(EXPOSURE, "node-selector-negation", dict(config=[VALID], node_selector="!has(k8s-role)"), None,
        ["node_selector:", "also selects pods"]),
    Row(EXPOSURE, "node-selector-pod-label", dict(config=[VALID], node_selector="app == 'web' || k8s-role == 'node'"), None,
        ["node_selector:", "also selects pods"]),
    Row(EXPOSURE, "node-selector-empty", dict(config=[VALID], node_selector=""), None,
        ["node_selector:", "must select only the node HostEndpoints", "matches an endpoint with no labels"]),
    Row(EXPOSURE, "node-selector-global", dict(config=[VALID], node_selector="global() && k8s-role == 'node'"), None,
        ["node_selector:", "uses global()"]),
    # -- ranges and names
    Row(EXPOSURE, "overlapping-pod-and-service-ranges", dict(config=[VALID], service_cidrs=["10.96.0.0/12"], pod_cidrs=["10.96.0.0/16"]),
        None, ["pod_cidrs:", "pod range 10.96.0.0/16 overlaps service range 10.96.0.0/12"]),
    Row(EXPOSURE, "service-cidrs-host-bits", dict(config=[VALID], service_cidrs=["10.96.0.0/12", "10.96.0.1/12"]), None,
        ["service_cidrs[1]", "has host bits set", "did you mean 10.96.0.0/12?"]),
    Row(EXPOSURE, "service-cidrs-bare-ip", dict(config=[VALID], service_cidrs=["10.96.0.1"]), None,
        ["service_cidrs[0]", "'10.96.0.1' is not a CIDR"]),
    Row(EXPOSURE, "pod-cidrs-garbage", dict(config=[VALID], pod_cidrs=["192.168.0.0/16", "pods"]), None,
        ["pod_cidrs[1]", "'pods' is not a CIDR"]),
    Row(EXPOSURE, "nodeport-range-reversed", dict(config=[VALID], nodeport_range="32767:30000"), None,
        ["nodeport_range:", "'32767:30000'", "'first:last' port numbers"]),
    Row(EXPOSURE, "nodeport-range-dash", dict(config=[VALID], nodeport_range="30000-32767"), None,
        ["nodeport_range:", "'30000-32767'", "'first:last' port numbers"]),
    Row(EXPOSURE, "nodeport-range-above-65535", dict(config=[VALID], nodeport_range="30000:70000"), None,
        ["nodeport_range:", "'30000:70000'"]),
    Row(EXPOSURE, "name-prefix-underscore", dict(config=[VALID], name_prefix="edge_policies"), None,
        ["name_prefix:", "DNS-1123 label"]),
    Row(EXPOSURE, "name-prefix-too-long", dict(config=[VALID], name_prefix="p" * 41), None,
        ["name_prefix:", "at most 40 characters (it has 41)"]),
    Row(EXPOSURE, "node-addresses-outside-rendered", dict(config=[VALID], node_addresses=["10.200.0.11"]), None,
        ["node_addresses: only state=rendered takes them"]),
    Row(EXPOSURE, "node-address-a-cidr", dict(config=[VALID], node_addresses=["10.200.0.0/24"]), None,
        ["node_addresses[0]: '10.200.0.0/24' is not an IPv4 or IPv6 address"]),
    # -- states
    Row(EXPOSURE, "service-override-outside-rendered", dict(config=[VALID, dict(API, service=RENDERED_SERVICE)]), None,
        ["config[1] (Service shop/api)", "service:", "only for state=rendered"]),
    Row(EXPOSURE, "rendered-without-service", dict(config=[RENDERED_VALID, API], state="rendered", **RENDERED_RANGES), None,
        ["config[1] (Service shop/api)", "service:", "state=rendered reads no cluster"]),
    Row(EXPOSURE, "rendered-without-service-cidrs", dict(config=[RENDERED_VALID], state="rendered", pod_cidrs=["192.168.0.0/16"]), None,
        ["service_cidrs:", "state=rendered reads no cluster", "give the service ranges"]),
    Row(EXPOSURE, "rendered-without-pod-cidrs", dict(config=[RENDERED_VALID], state="rendered", service_cidrs=["10.20.30.0/24"]), None,
        ["pod_cidrs:", "state=rendered reads no cluster", "give the pod ranges"]),
    Row(EXPOSURE, "merged-without-config", dict(state="merged"), None, ["config:", "state=merged needs at least one item"]),
    Row(EXPOSURE, "unknown-state", dict(config=[VALID], state="present"), None, ["state", "merged", "got: present"]),
    Row(EXPOSURE, "unknown-option", dict(config=[dict(VALID, source=["50.60.0.0/16"])]), None, ["Unsupported parameters", "source"]),
    Row(EXPOSURE, "bad-owner", dict(config=[VALID], owner="team b"), None, ["owner:", "'team b'"]),
]

# -- calico_flow_check (cluster: clusteredge_testworld/lab/cluster.py with node-1 and node-2) -------------------------------


def flow(**fields):
    """A valid flow (SSH from outside to node-1) with some fields changed."""
    item = dict(name="ssh to node-1", source="203.0.113.9", destination="10.200.0.11", port=22, ingress_node="node-1")
    item.update(fields)
    return dict((k, v) for k, v in item.items() if v is not None)


def flows(*items):
    return dict(flows=[flow()] + list(items))


FLOW_ROWS = [
    Row(FLOW, "unknown-protocol", flows(flow(protocol="TPC")), None,
        ["A flow cannot be resolved", "protocol 'TPC' is not TCP, UDP or SCTP"]),
    Row(FLOW, "port-zero", flows(flow(port=0)), None, ["port 0 is not a port number (1 to 65535)"]),
    Row(FLOW, "port-70000", flows(flow(port=70000)), None, ["port 70000 is not a port number (1 to 65535)"]),
    Row(FLOW, "port-not-a-number", flows(flow(port="https")), None, ["port", "flows", "'https'", "cannot be converted to an int"]),
    Row(FLOW, "pod-of-unknown-service", flows(flow(destination="pod:shop/nosuch", port=80)), None,
        ["destination 'pod:shop/nosuch': there is no Service shop/nosuch"]),
    Row(FLOW, "pod-of-service-in-unknown-namespace", flows(flow(destination="pod:nowhere/frontend", port=80)), None,
        ["there is no Service nowhere/frontend"]),
    Row(FLOW, "pod-destination-without-namespace", flows(flow(destination="pod:frontend", port=80)), None,
        ["destination 'pod:frontend': write pod:<namespace>/<service>"]),
    Row(FLOW, "port-not-on-the-service", flows(flow(destination="pod:shop/frontend", port=81)), None,
        ["pod:shop/frontend: 81 is not a port of the Service"]),
    Row(FLOW, "pod-of-service-without-pods", flows(flow(destination="pod:payments/billing-db", port=80)), None,
        ["pod:payments/billing-db: the Service has no backend pod"]),
    Row(FLOW, "pod-source-other-than-any", flows(flow(source="pod:shop/api")), None,
        ["source 'pod:shop/api'", "the only pod source is pod:any"]),
    Row(FLOW, "source-not-an-ip", flows(flow(source="203.0.113.300")), None,
        ["'203.0.113.300' does not appear to be an IPv4 or IPv6 address"]),
    Row(FLOW, "destination-service-name", flows(flow(destination="frontend")), None,
        ["'frontend' does not appear to be an IPv4 or IPv6 address"]),
    Row(FLOW, "unknown-ingress-node", flows(flow(ingress_node="node-9")), None,
        ["ingress_node 'node-9' is not a Node (nodes: node-1, node-2)"]),
    Row(FLOW, "missing-ingress-node", flows(flow(ingress_node=None)), None, ["missing required arguments: ingress_node", "flows"]),
    Row(FLOW, "missing-destination", flows(flow(destination=None)), None, ["missing required arguments: destination"]),
    Row(FLOW, "expect-permit", flows(flow(expect="permit")), None, ["expect must be one of: allow, deny", "permit"]),
    Row(FLOW, "unknown-flow-option", flows(flow(src="203.0.113.9")), None, ["Unsupported parameters", "flows.src"]),
    Row(FLOW, "no-flows", dict(pod_cidrs=["192.168.0.0/16"]), None, ["missing required arguments: flows"]),
    Row(FLOW, "pod-cidr-not-a-network", dict(flows(), pod_cidrs=["pods"]), None,
        ["'pods' does not appear to be an IPv4 or IPv6 network"]),
    Row(FLOW, "fail-on-mismatch-maybe", dict(flows(), fail_on_mismatch="maybe"), None, ["fail_on_mismatch", "not a valid boolean"]),
    Row(FLOW, "objects-without-name", dict(flows(), objects=[{"kind": "Node", "metadata": {"name": "node-1"}}, {"kind": "HostEndpoint"}]),
        None, ["objects[1]: every object needs a kind and a metadata.name"]),
    # `objects` replaces the cluster: a Service that is not among them does not exist, even if the API has it.
    Row(FLOW, "objects-without-the-service", dict(flows(flow(destination="pod:shop/frontend", port=80)), objects=[]), None,
        ["there is no Service shop/frontend"]),
]

# -- calico_cluster_info ----------------------------------------------------------------------------------

INFO_ROWS = [
    Row(INFO, "api-server-port-zero", dict(api_server_port=0), None, ["api_server_port: 0 is not a port number (1 to 65535)"]),
    Row(INFO, "api-server-port-70000", dict(api_server_port=70000), None, ["api_server_port: 70000 is not a port number"]),
    Row(INFO, "api-server-port-name", dict(api_server_port="https"), None, ["api_server_port", "'https'", "cannot be converted to an int"]),
    Row(INFO, "unknown-option", dict(port=6443), None, ["Unsupported parameters", "port"]),
]

# -- auth and connection options, shared by every module ------------------------------------------------------

NO_ENV_AUTH = {"K8S_AUTH_HOST": None, "K8S_AUTH_API_KEY": None}
HEP_ARGS = dict(config=[GOOD])
EXPOSURE_ARGS = dict(config=[dict(namespace="shop", name="frontend", sources=["50.60.0.0/16"])])
INFO_ARGS = dict(api_server_port=6443)
FLOW_ARGS = flows()


def auth(module, args, env=None, **options):
    return dict(module=module, args=dict(args, **options), env=env or {})


def emulator_kubeconfig(api, ctx):
    """A kubeconfig for the emulator (context `emulator`), given as the module option."""
    ctx.args["kubeconfig"] = api.write_kubeconfig(str(ctx.tmp_path / "kubeconfig"))


def not_a_kubeconfig(api, ctx):
    path = ctx.tmp_path / "kubeconfig"
    path.write_text("just some text\n")
    ctx.args["kubeconfig"] = str(path)


def not_yaml_kubeconfig(api, ctx):
    path = ctx.tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nclusters: [unclosed\n")
    ctx.args["kubeconfig"] = str(path)


AUTH_ROWS = [
    Row(AUTH, "host-not-a-url", auth(HEP, HEP_ARGS, host="not a url"), None,
        ["Could not configure the Kubernetes API client", "not a url"]),
    Row(AUTH, "host-with-ftp-scheme", auth(EXPOSURE, EXPOSURE_ARGS, host="ftp://127.0.0.1:9"), None,
        ["Could not configure the Kubernetes API client", "ftp://127.0.0.1:9", "https://"]),
    Row(AUTH, "host-nobody-listens-on", auth(INFO, INFO_ARGS, host="http://127.0.0.1:9"), None,
        ["Could not configure the Kubernetes API client", "127.0.0.1", "Connection refused"]),
    Row(AUTH, "kubeconfig-option-missing-file", auth(FLOW, FLOW_ARGS, NO_ENV_AUTH, kubeconfig="/nonexistent/kubeconfig"), None,
        ["the kubeconfig file given (kubeconfig, or K8S_AUTH_KUBECONFIG) does not exist"]),
    Row(AUTH, "kubeconfig-variable-missing-file", auth(HEP, HEP_ARGS, dict(NO_ENV_AUTH, K8S_AUTH_KUBECONFIG="/nonexistent/kc")), None,
        ["the kubeconfig file given", "does not exist"]),
    Row(AUTH, "kubeconfig-not-a-kubeconfig", auth(INFO, INFO_ARGS, NO_ENV_AUTH), not_a_kubeconfig,
        ["Could not configure the Kubernetes API client", "is not a kubeconfig", "holds a str"]),
    Row(AUTH, "kubeconfig-not-yaml", auth(HEP, HEP_ARGS, NO_ENV_AUTH), not_yaml_kubeconfig,
        ["Could not configure the Kubernetes API client", "cannot be read as YAML"]),
    Row(AUTH, "unknown-context", auth(EXPOSURE, EXPOSURE_ARGS, NO_ENV_AUTH, context="production"), emulator_kubeconfig,
        ["Could not configure the Kubernetes API client", "production"]),
    Row(AUTH, "no-credentials-at-all", auth(INFO, INFO_ARGS, NO_ENV_AUTH), None,
        ["Could not configure the Kubernetes API client", "No configuration found"]),
    Row(AUTH, "wrong-token", auth(HEP, HEP_ARGS, api_key="not-the-token"), None, ["401"]),
    Row(AUTH, "ca-cert-missing-file", auth(FLOW, FLOW_ARGS, ca_cert="/nonexistent/ca.pem"), None,
        ["Could not configure the Kubernetes API client", "/nonexistent/ca.pem"]),
    Row(AUTH, "no-calico-api-server-hostendpoint", auth(HEP, HEP_ARGS), NO_CALICO_API,
        ["does not serve projectcalico.org/v3", "Calico API server"]),
    Row(AUTH, "no-calico-api-server-exposure", auth(EXPOSURE, EXPOSURE_ARGS), NO_CALICO_API,
        ["does not serve projectcalico.org/v3", "Calico API server"]),
    Row(AUTH, "no-calico-api-server-flow-check", auth(FLOW, FLOW_ARGS), NO_CALICO_API, ["projectcalico.org/v3"]),
    Row(AUTH, "unknown-auth-option", auth(HEP, HEP_ARGS, token="x"), None, ["Unsupported parameters", "token"]),
]

# -- the role's variables (playbook clusteredge.calico.expose) -----------------------------------------------

SERVICES = [dict(namespace="shop", name="frontend", sources=["50.60.0.0/16"])]


def role(**variables):
    return dict(vars=variables)


def failsafes_without_ssh(api, ctx):
    api.seed([{"apiVersion": "projectcalico.org/v3", "kind": "FelixConfiguration", "metadata": {"name": "default"},
               "spec": {"failsafeInboundHostPorts": [{"protocol": "tcp", "port": 6443}]}}])


ROLE_ROWS = [
    Row(ROLE, "services-empty", role(clusterip_exposure_services=[]), None,
        ["clusterip_exposure_services is empty", "unexpose", "Nothing was written"]),
    Row(ROLE, "services-a-mapping", role(clusterip_exposure_services="namespace: shop\nname: frontend\n"), None,
        ["clusterip_exposure_services must be a list of Services", "Nothing was written"]),
    Row(ROLE, "services-items-not-mappings", role(clusterip_exposure_services=["shop/frontend"]), None,
        ["clusterip_exposure_services must be a list of Services, each a mapping", '["shop/frontend"]']),
    Row(ROLE, "services-text-not-yaml", role(clusterip_exposure_services="- {namespace: shop, name: [frontend"), None,
        ["clusterip_exposure_services is text that is neither YAML nor JSON", "line 1, column 27", "Nothing was written"]),
    Row(ROLE, "service-without-sources", role(clusterip_exposure_services=[dict(namespace="shop", name="frontend")]), None,
        ["config[0] (Service shop/frontend)", "sources:", "give at least one allowed source network"]),
    Row(ROLE, "service-source-not-a-cidr", role(clusterip_exposure_services=[dict(SERVICES[0], sources=["50.60.0.0/33"])]), None,
        ["config[0] (Service shop/frontend)", "sources[0]", "'50.60.0.0/33' is not a valid CIDR"]),
    Row(ROLE, "service-unknown-mode", role(clusterip_exposure_services=[dict(SERVICES[0], mode="direct")]), None,
        ["mode must be one of: auto, cluster, local", "direct"]),
    Row(ROLE, "service-unknown-field", role(clusterip_exposure_services=[dict(namespace="shop", name="frontend", source=["50.60.0.0/16"])]),
        None, ["Unsupported parameters", "config.source"]),
    Row(ROLE, "service-not-found", role(clusterip_exposure_services=[dict(SERVICES[0], name="nosuch")]), None,
        ["config[0] (Service shop/nosuch)", "Service not found"]),
    Row(ROLE, "services-as-json-text-with-bad-source", role(clusterip_exposure_services=json.dumps([dict(SERVICES[0], sources=["0.0.0.0/0"])])),
        None, ["0.0.0.0/0 allows every address", "allow_any_source: true"]),
    Row(ROLE, "canary-timeout-not-a-number", role(clusterip_exposure_canary_timeout="soon"), None,
        ["Validation of arguments failed", "clusterip_exposure_canary_timeout", "cannot be converted to an int"]),
    Row(ROLE, "canary-timeout-zero", role(clusterip_exposure_canary_timeout=0), None,
        ["clusterip_exposure_canary_timeout: 0 must be at least 1 (seconds)", "Nothing was written"]),
    Row(ROLE, "canary-settle-negative", role(clusterip_exposure_canary_settle=-5), None,
        ["clusterip_exposure_canary_settle: -5 must be 0 or more (seconds)"]),
    Row(ROLE, "canary-host-not-in-the-play", role(clusterip_exposure_canary_host="h9"), None,
        ["clusterip_exposure_canary_host h9 is not a host of this play", "Nothing was written"]),
    Row(ROLE, "canary-maybe", role(clusterip_exposure_canary="maybe"), None, ["clusterip_exposure_canary", "not a valid boolean"]),
    Row(ROLE, "api-server-port-70000", role(clusterip_exposure_api_server_port=70000), None,
        ["clusterip_exposure_api_server_port: 70000 must be a port number"]),
    Row(ROLE, "verify-nodes-per-service-negative", role(clusterip_exposure_verify_nodes_per_service=-1), None,
        ["clusterip_exposure_verify_nodes_per_service: -1 must be 0 (every node) or more"]),
    Row(ROLE, "prune-sometimes", role(clusterip_exposure_prune="sometimes"), None, ["clusterip_exposure_prune", "not a valid boolean"]),
    Row(ROLE, "node-labels-a-list", role(clusterip_exposure_node_labels=["k8s-role"]), None,
        ["clusterip_exposure_node_labels", "cannot be converted to a dict"]),
    Row(ROLE, "node-label-key-with-space", role(clusterip_exposure_node_labels={"k8s role": "node"}), None,
        ["(HostEndpoint 'node-1-lo')", "labels: label key 'k8s role'"]),
    Row(ROLE, "node-label-reserved", role(clusterip_exposure_node_labels={"clusteredge.calico/owner": "me"}), None,
        ["labels: 'clusteredge.calico/owner' is reserved"]),
    Row(ROLE, "owner-with-space", role(clusterip_exposure_owner="team b"), None, ["owner: label value 'team b'"]),
    Row(ROLE, "name-prefix-underscore", role(clusterip_exposure_name_prefix="edge_x"), None, ["name_prefix: must be a DNS-1123 label"]),
    Row(ROLE, "node-selector-all", role(clusterip_exposure_node_selector="all()"), None,
        ["node_selector: 'all()' also selects pods"]),
    Row(ROLE, "nodeport-range-dash", role(clusterip_exposure_nodeport_range="30000-32767"), None,
        ["nodeport_range: '30000-32767' must be 'first:last' port numbers"]),
    Row(ROLE, "service-cidr-host-bits", role(clusterip_exposure_service_cidrs=["10.96.0.1/12"]), None,
        ["service_cidrs[0]: '10.96.0.1/12' has host bits set"]),
    Row(ROLE, "require-advertised-maybe", role(clusterip_exposure_require_advertised="maybe"), None,
        ["clusterip_exposure_require_advertised", "not a valid boolean"]),
    Row(ROLE, "failsafes-without-ssh", role(), failsafes_without_ssh,
        ["Felix failsafes would not keep the nodes repairable", "SSH", "clusterip_exposure_accept_failsafe_gaps", "Nothing was written"]),
    Row(ROLE, "no-calico-api-server", role(), NO_CALICO_API, ["Calico API server", "Nothing was written"]),
]

# -- inventories -------------------------------------------------------------------------------------------


def hosts(**overrides):
    """Host variables per inventory host: {host: {variable: value}} on top of the local host defaults."""
    return dict(hosts=overrides)


def local_address():
    """This machine's first global IPv4 address, which the facts of a local host report."""
    out = subprocess.run(["ip", "-j", "-4", "addr", "show", "scope", "global"], capture_output=True, text=True, check=False).stdout
    for link in json.loads(out or "[]"):
        for info in link.get("addr_info") or []:
            if ipaddress.ip_address(info["local"]).version == 4:
                return info["local"]
    return None


def two_nodes_with_my_address(api, ctx):
    address = ctx.require(local_address(), "this machine has no global IPv4 address")
    api.seed(lab_nodes({"node-1": address, "node-2": address}))


INVENTORY_ROWS = [
    Row(INVENTORY, "host-maps-to-no-node", hosts(stranger=dict(clusterip_exposure_node_name=None)), None,
        ["stranger maps to no Kubernetes node", "set clusterip_exposure_node_name for it", "Nothing was written"]),
    Row(INVENTORY, "explicit-node-does-not-exist", hosts(h1=dict(clusterip_exposure_node_name="node-9")), None,
        ["h1: clusterip_exposure_node_name 'node-9' is not a Kubernetes node", "Nothing was written"]),
    Row(INVENTORY, "two-hosts-one-node", hosts(h1=dict(clusterip_exposure_node_name="node-1"), h2=dict(clusterip_exposure_node_name="node-1")),
        None, ["h1 and h2 both map to node node-1", "set clusterip_exposure_node_name on one of them"]),
    Row(INVENTORY, "host-address-on-two-nodes", hosts(h1=dict(clusterip_exposure_node_name=None)), two_nodes_with_my_address,
        ["h1 shares addresses with several nodes (node-1, node-2)", "set clusterip_exposure_node_name"]),
    Row(INVENTORY, "interface-query-matches-nothing",
        hosts(h1=dict(clusterip_exposure_interfaces=None, clusterip_exposure_interface_query="ansible_interfaces[?starts_with(@, 'bond')]")),
        None, ["clusterip_exposure_interface_query", "selects no interface on h1", "Nothing was written"]),
    Row(INVENTORY, "interface-query-not-jmespath",
        hosts(h1=dict(clusterip_exposure_interfaces=None, clusterip_exposure_interface_query="ansible_interfaces[?")), None,
        ["clusterip_exposure_interface_query 'ansible_interfaces[?' is not valid JMESPath"]),
    Row(INVENTORY, "interface-query-returns-a-mapping", hosts(h1=dict(clusterip_exposure_interfaces=None, clusterip_exposure_interface_query="ansible_lo")),
        None, ["clusterip_exposure_interface_query 'ansible_lo' must return an interface name or a list of names", "on h1 it returns a mapping"]),
    Row(INVENTORY, "interface-query-returns-a-number", hosts(h1=dict(clusterip_exposure_interfaces=None, clusterip_exposure_interface_query="ansible_lo.mtu")),
        None, ["must return an interface name or a list of names; on h1 it returns a number"]),
    Row(INVENTORY, "interface-does-not-exist", hosts(h1=dict(clusterip_exposure_interfaces=["bond0"])), None,
        ["interface bond0 does not exist on h1 (it has: ", "lo", "Nothing was written"]),
    Row(INVENTORY, "interface-name-invalid", hosts(h2=dict(clusterip_exposure_interfaces=["eth0/1"])), None,
        ["interface eth0/1 does not exist on h2"]),
    Row(INVENTORY, "interface-wildcard-with-named-ones", hosts(h1=dict(clusterip_exposure_interfaces=["*", "lo"])), None,
        ["h1: interface '*' already covers every interface of the host; list it alone", "Nothing was written"]),
    Row(INVENTORY, "interfaces-a-mapping", hosts(h1=dict(clusterip_exposure_interfaces={"lo": True})), None,
        ["clusterip_exposure_interfaces", "cannot be converted to a list"]),
    # The expose playbook validates the argument spec once, on the first host; the others' per-host settings are
    # checked by the discovery plan.
    Row(INVENTORY, "interfaces-a-mapping-on-another-host", hosts(h2=dict(clusterip_exposure_interfaces={"lo": True})), None,
        ["h2: clusterip_exposure_interfaces must be a list of interface names", "Nothing was written"]),
    Row(INVENTORY, "controller-discovery-with-an-interface-query",
        hosts(h1=dict(clusterip_exposure_discovery="controller", clusterip_exposure_interfaces=None,
                      clusterip_exposure_interface_query="ansible_interfaces")), None,
        ["h1: clusterip_exposure_interface_query reads the host's facts, which controller discovery does not gather",
         "Nothing was written"]),
    Row(INVENTORY, "no-host-matches-the-pattern", role(clusterip_exposure_hosts="edge"), None,
        ["No inventory host matches 'edge'", "set clusterip_exposure_hosts", "Nothing was written"]),
    Row(INVENTORY, "host-unreachable", hosts(h2=dict(ansible_connection="ssh", ansible_host="127.0.0.1", ansible_port=9)), None,
        ["Hosts h2 could not be reached", "every node must be known before anything is written", "Nothing was written"]),
]

ROWS = HOSTENDPOINT_ROWS + EXPOSURE_ROWS + FLOW_ROWS + INFO_ROWS + AUTH_ROWS + ROLE_ROWS + INVENTORY_ROWS
