"""calico_clusterip_exposure: every bad input fails naming the item, the field and the reason, and writes nothing.

A valid item comes first wherever that makes sense: a bad item further down must still stop the whole call
before the first request that writes (dry runs included).
"""

from __future__ import annotations

import pytest

from integration import cluster
from integration.conftest import all_writes

pytestmark = pytest.mark.integration

VALID = dict(namespace="shop", name="frontend", sources=["50.60.0.0/16"])
API = dict(namespace="shop", name="api", sources=["70.80.90.0/24"])
# What state=rendered needs instead of a cluster.
RENDERED_SERVICE = dict(cluster_ips=["10.20.30.40"], selector={"app": "frontend"}, ports=[dict(port=80)])
RENDERED_VALID = dict(VALID, service=RENDERED_SERVICE)
RENDERED_RANGES = dict(service_cidrs=["10.20.30.0/24"], pod_cidrs=["192.168.0.0/16"])


def api_item(**fields):
    return dict(API, **fields)


def dynamic(api):
    from kubernetes.dynamic import DynamicClient

    return DynamicClient(api.api_client())


def delete(api, api_version, kind, name, namespace=None):
    dynamic(api).resources.get(api_version=api_version, kind=kind).delete(name=name, namespace=namespace)


# -- set-ups beyond the shop fixture; each gets (api, expose, ips) and may add to ips ------------------

def no_service_range(api, expose, ips):
    """No ServiceCIDR object and no serviceClusterIPs in BGPConfiguration default."""
    delete(api, "networking.k8s.io/v1", "ServiceCIDR", "kubernetes")
    api.seed([cluster.bgp_default([])])
    assert api.objects("ServiceCIDR") == []


def narrow_advertisement(api, expose, ips):
    api.seed([cluster.bgp_default(["10.100.0.0/24"])])


def _expose_then_hand_ip_to_b(api, expose, ips):
    """Expose shop/a, delete it, create shop/b with a's old cluster IP (through the API)."""
    created = cluster.create(api, [cluster.service("shop", "a", ports=((80, "TCP", 8080),))])
    ips["a"] = created[0]["spec"]["clusterIP"]
    result = expose(config=[dict(namespace="shop", name="a", sources=["60.70.0.0/16"])], state="merged")
    assert not result.failed, result
    delete(api, "v1", "Service", "a", namespace="shop")
    created = cluster.create(api, [cluster.service("shop", "b", ports=((80, "TCP", 8080),), cluster_ip=ips["a"])])
    assert created[0]["spec"]["clusterIP"] == ips["a"]


def ip_reused_after_delete(api, expose, ips):
    _expose_then_hand_ip_to_b(api, expose, ips)


def ip_reused_after_recreate(api, expose, ips):
    """As above, and shop/a is created again (so it gets a new cluster IP)."""
    _expose_then_hand_ip_to_b(api, expose, ips)
    created = cluster.create(api, [cluster.service("shop", "a", ports=((80, "TCP", 8080),))])
    assert created[0]["spec"]["clusterIP"] != ips["a"]


# (case id, module args, set-up, fragments of the message; {name} is the cluster IP of Service shop/<name>)
CASES = [
    # -- sources
    ("source-not-a-cidr", dict(config=[VALID, api_item(sources=["not-a-network"])]), None,
     ["config[1] (Service shop/api)", "sources[0]", "'not-a-network' is not a CIDR"]),
    ("source-prefix-too-long", dict(config=[VALID, api_item(sources=["70.80.90.0/33"])]), None,
     ["config[1] (Service shop/api)", "sources[0]", "'70.80.90.0/33' is not a valid CIDR"]),
    ("source-host-bits", dict(config=[VALID, api_item(sources=["70.80.90.7/24"])]), None,
     ["config[1] (Service shop/api)", "sources[0]", "host bits set", "did you mean 70.80.90.0/24?"]),
    ("source-bare-ip", dict(config=[VALID, api_item(sources=["70.80.90.0/24", "70.80.91.7"])]), None,
     ["config[1] (Service shop/api)", "sources[1]", "'70.80.91.7' is not a CIDR", "address/prefix-length"]),
    ("source-any-ipv4", dict(config=[VALID, api_item(sources=["0.0.0.0/0"])]), None,
     ["config[1] (Service shop/api)", "sources[0]", "0.0.0.0/0 allows every address", "allow_any_source: true"]),
    ("source-any-ipv6", dict(config=[VALID, api_item(sources=["::/0"])]), None,
     ["config[1] (Service shop/api)", "sources[0]", "::/0 allows every address", "allow_any_source: true"]),
    ("source-twice", dict(config=[VALID, api_item(sources=["70.80.90.0/24", "70.80.90.0/24"])]), None,
     ["config[1] (Service shop/api)", "sources[1]", "70.80.90.0/24 is listed twice"]),
    ("ipv6-source-ipv4-only-service", dict(config=[VALID, api_item(sources=["2001:db8:70::/48"])]), None,
     ["config[1] (Service shop/api)", "IPv6 sources 2001:db8:70::/48", "has no IPv6 cluster IP"]),
    ("replaced-without-sources", dict(config=[VALID, dict(namespace="shop", name="api")], state="replaced"), None,
     ["config[1] (Service shop/api)", "sources:", "give at least one allowed source network"]),
    ("overridden-empty-sources", dict(config=[VALID, api_item(sources=[])], state="overridden"), None,
     ["config[1] (Service shop/api)", "sources:", "give at least one allowed source network"]),
    # -- ports
    ("port-number-not-in-service", dict(config=[VALID, dict(VALID, name="api", ports=[9090])]), None,
     ["config[1] (Service shop/api)", "port 9090 is not a port of the Service", "8080/TCP (p8080)"]),
    ("port-name-not-in-service", dict(config=[VALID, dict(VALID, name="api", ports=["https"])]), None,
     ["config[1] (Service shop/api)", "port 'https' is not a port of the Service", "8080/TCP (p8080)"]),
    ("port-zero", dict(config=[VALID, api_item(ports=[0])]), None,
     ["config[1] (Service shop/api)", "ports[0]", "port 0 must be an integer from 1 to 65535"]),
    ("port-70000", dict(config=[VALID, api_item(ports=[8080, 70000])]), None,
     ["config[1] (Service shop/api)", "ports[1]", "port 70000 must be an integer from 1 to 65535"]),
    ("port-bad-name", dict(config=[VALID, api_item(ports=["HTTP_API"])]), None,
     ["config[1] (Service shop/api)", "ports[0]", "'HTTP_API'", "lowercase letters, digits and '-'"]),
    ("port-twice", dict(config=[VALID, api_item(ports=[8080, 8080])]), None,
     ["config[1] (Service shop/api)", "ports[1]", "port 8080 is listed twice"]),
    ("ports-empty-list", dict(config=[VALID, api_item(ports=[])]), None,
     ["config[1] (Service shop/api)", "ports:", "leave ports out to expose every port"]),
    # -- the Service itself
    ("unknown-service", dict(config=[VALID, dict(VALID, name="nosuch")]), None,
     ["config[1] (Service shop/nosuch)", "Service not found"]),
    ("unknown-namespace", dict(config=[VALID, dict(VALID, namespace="nowhere")]), None,
     ["config[1] (Service nowhere/frontend)", "namespace 'nowhere' does not exist"]),
    ("headless-service", dict(config=[VALID, dict(VALID, name="headless")]), None,
     ["config[1] (Service shop/headless)", "is headless (clusterIP: None)", "no cluster IP"]),
    ("externalname-service", dict(config=[VALID, dict(VALID, name="extname")]), None,
     ["config[1] (Service shop/extname)", "is an ExternalName Service", "no cluster IP"]),
    ("selectorless-service", dict(config=[VALID, dict(VALID, name="manual")]), None,
     ["config[1] (Service shop/manual)", "has no selector", "no pod policy can select its pods"]),
    ("cluster-ip-mismatch", dict(config=[VALID, api_item(cluster_ip="10.96.200.200")]), None,
     ["config[1] (Service shop/api)", "expected cluster IP 10.96.200.200 but the Service has {api}", "immutable"]),
    ("cluster-ip-invalid", dict(config=[VALID, api_item(cluster_ip="10.96.0.300")]), None,
     ["config[1] (Service shop/api)", "cluster_ip:", "'10.96.0.300' is not an IPv4 or IPv6 address"]),
    ("cluster-ip-as-cidr", dict(config=[VALID, api_item(cluster_ip="10.96.0.10/32")]), None,
     ["config[1] (Service shop/api)", "cluster_ip:", "'10.96.0.10/32' is a CIDR"]),
    ("local-mode-on-clusterip", dict(config=[VALID, api_item(mode="local")]), None,
     ["config[1] (Service shop/api)", "mode local needs a NodePort or LoadBalancer Service", "this one is ClusterIP"]),
    ("local-mode-etp-cluster", dict(config=[VALID, dict(VALID, name="nodeport", mode="local")]), None,
     ["config[1] (Service shop/nodeport)", "mode local but the Service's externalTrafficPolicy is Cluster"]),
    ("unknown-mode", dict(config=[VALID, api_item(mode="direct")]), None,
     ["mode", "auto, cluster, local", "direct"]),
    ("cluster-ip-outside-known-ranges", dict(config=[VALID, API], service_cidrs=["10.200.0.0/16"]), None,
     ["config[1] (Service shop/api)", "cluster IP {api} is in no known service range (known: 10.200.0.0/16)",
      "give service_cidrs"]),
    ("no-service-range-discoverable", dict(config=[VALID]), no_service_range,
     ["service_cidrs:", "no service cluster IP range found", "give service_cidrs"]),
    ("require-advertised", dict(config=[VALID, API], require_advertised=True), narrow_advertisement,
     ["config[1] (Service shop/api): cluster IP {api} of Service shop/api", "outside every serviceClusterIPs range of BGPConfiguration default "
      "(10.100.0.0/24)", "does not advertise it"]),
    ("cluster-ip-reused-by-another-service", dict(config=[VALID], state="merged"), ip_reused_after_recreate,
     ["cluster IP {a} was exposed for shop/a", "now belongs to shop/b", "state=deleted", "repin: true"]),
    ("cluster-ip-reused-after-delete", dict(config=[VALID], state="merged"), ip_reused_after_delete,
     ["cluster IP {a} was exposed for shop/a", "now belongs to shop/b"]),
    # -- identity of the items
    ("uppercase-namespace", dict(config=[VALID, dict(VALID, namespace="Shop")]), None,
     ["config[1] (Service Shop/frontend)", "namespace:", "DNS-1123 label"]),
    ("uppercase-name", dict(config=[VALID, dict(VALID, name="Web")]), None,
     ["config[1] (Service shop/Web)", "name:", "DNS-1123 label"]),
    ("name-starts-with-digit", dict(config=[VALID, dict(VALID, name="1web")]), None,
     ["config[1] (Service shop/1web)", "name:", "must start with a letter"]),
    ("duplicate-service", dict(config=[VALID, API, dict(VALID, sources=["50.61.0.0/16"])]), None,
     ["config[2] (Service shop/frontend)", "duplicate of config[0]", "once per call"]),
    # -- node selector
    ("node-selector-syntax", dict(config=[VALID], node_selector="k8s-role = 'node'"), None,
     ["node_selector:", "invalid selector", "k8s-role = 'node'"]),
    ("node-selector-all", dict(config=[VALID], node_selector="all()"), None,
     ["node_selector:", "must select only the node HostEndpoints", "all()"]),
    ("node-selector-all-in-parentheses", dict(config=[VALID], node_selector="(all())"), None,
     ["node_selector:", "also selects pods", "must select only the node HostEndpoints"]),
    ("node-selector-negation", dict(config=[VALID], node_selector="!has(k8s-role)"), None,
     ["node_selector:", "also selects pods"]),
    ("node-selector-pod-label", dict(config=[VALID], node_selector="app == 'web' || k8s-role == 'node'"), None,
     ["node_selector:", "also selects pods"]),
    ("node-selector-empty", dict(config=[VALID], node_selector=""), None,
     ["node_selector:", "must select only the node HostEndpoints", "matches an endpoint with no labels"]),
    ("node-selector-global", dict(config=[VALID], node_selector="global() && k8s-role == 'node'"), None,
     ["node_selector:", "uses global()"]),
    # -- ranges and names
    ("overlapping-pod-and-service-ranges", dict(config=[VALID], service_cidrs=["10.96.0.0/12"], pod_cidrs=["10.96.0.0/16"]),
     None, ["pod_cidrs:", "pod range 10.96.0.0/16 overlaps service range 10.96.0.0/12"]),
    ("service-cidrs-host-bits", dict(config=[VALID], service_cidrs=["10.96.0.0/12", "10.96.0.1/12"]), None,
     ["service_cidrs[1]", "has host bits set", "did you mean 10.96.0.0/12?"]),
    ("service-cidrs-bare-ip", dict(config=[VALID], service_cidrs=["10.96.0.1"]), None,
     ["service_cidrs[0]", "'10.96.0.1' is not a CIDR"]),
    ("pod-cidrs-garbage", dict(config=[VALID], pod_cidrs=["192.168.0.0/16", "pods"]), None,
     ["pod_cidrs[1]", "'pods' is not a CIDR"]),
    ("nodeport-range-reversed", dict(config=[VALID], nodeport_range="32767:30000"), None,
     ["nodeport_range:", "'32767:30000'", "'first:last' port numbers"]),
    ("nodeport-range-dash", dict(config=[VALID], nodeport_range="30000-32767"), None,
     ["nodeport_range:", "'30000-32767'", "'first:last' port numbers"]),
    ("nodeport-range-above-65535", dict(config=[VALID], nodeport_range="30000:70000"), None,
     ["nodeport_range:", "'30000:70000'"]),
    ("name-prefix-underscore", dict(config=[VALID], name_prefix="edge_policies"), None,
     ["name_prefix:", "DNS-1123 label"]),
    ("name-prefix-too-long", dict(config=[VALID], name_prefix="p" * 41), None,
     ["name_prefix:", "at most 40 characters (it has 41)"]),
    # -- states
    ("service-override-outside-rendered", dict(config=[VALID, dict(API, service=RENDERED_SERVICE)]), None,
     ["config[1] (Service shop/api)", "service:", "only for state=rendered"]),
    ("rendered-without-service", dict(config=[RENDERED_VALID, API], state="rendered", **RENDERED_RANGES), None,
     ["config[1] (Service shop/api)", "service:", "state=rendered reads no cluster"]),
    ("rendered-without-service-cidrs", dict(config=[RENDERED_VALID], state="rendered", pod_cidrs=["192.168.0.0/16"]), None,
     ["service_cidrs:", "state=rendered reads no cluster", "give the service ranges"]),
    ("rendered-without-pod-cidrs", dict(config=[RENDERED_VALID], state="rendered", service_cidrs=["10.20.30.0/24"]), None,
     ["pod_cidrs:", "state=rendered reads no cluster", "give the pod ranges"]),
    ("merged-without-config", dict(state="merged"), None, ["config:", "state=merged needs at least one item"]),
    ("unknown-state", dict(config=[VALID], state="present"), None, ["state", "merged", "got: present"]),
    ("unknown-option", dict(config=[dict(VALID, source=["50.60.0.0/16"])]), None, ["Unsupported parameters", "source"]),
    ("bad-owner", dict(config=[VALID], owner="team b"), None, ["owner:", "'team b'"]),
]


def _case_id(case):
    return case.id if hasattr(case, "id") else case[0]


def _as_param(case):
    if hasattr(case, "values"):
        return pytest.param(*case.values[1:], marks=case.marks, id=case.id)
    return pytest.param(*case[1:], id=case[0])


@pytest.fixture
def shop(k8s_api):
    """Namespace shop with Services of every shape; returns {service name: cluster IP}."""
    created = cluster.standard_cluster(k8s_api, services=[
        cluster.service("shop", "frontend", ports=((80, "TCP", 8080), (443, "TCP", 8443))),
        cluster.service("shop", "api", ports=((8080, "TCP", "http-api"),)),
        cluster.service("shop", "headless", headless=True),
        cluster.service("shop", "extname", svc_type="ExternalName"),
        cluster.service("shop", "manual", selector={}),
        cluster.service("shop", "nodeport", svc_type="NodePort", etp="Cluster"),
    ])
    return dict((s["metadata"]["name"], s["spec"].get("clusterIP")) for s in created)


def policy_objects(api):
    return sorted("%s/%s/%s" % (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
                  for kind in ("GlobalNetworkPolicy", "NetworkPolicy") for o in api.objects(kind))


@pytest.mark.parametrize("args,setup,fragments", [_as_param(c) for c in CASES])
def test_bad_input_fails_clearly_and_writes_nothing(k8s_api, expose, shop, args, setup, fragments):
    ips = dict(shop)
    if setup:
        setup(k8s_api, expose, ips)
    policies_before = policy_objects(k8s_api)
    if setup is None:
        assert policies_before == []
    k8s_api.clear_requests()  # only what the failing call sends counts
    result = expose(**args)
    assert result.failed, result
    message = result["msg"]
    for fragment in fragments:
        fragment = fragment.format(**ips)
        assert fragment in message, "%r not in %r" % (fragment, message)
    assert all_writes(k8s_api) == [], "a bad input must not write anything, not even a dry run"
    assert policy_objects(k8s_api) == policies_before, "no policy object may appear or change"


@pytest.mark.parametrize("args", [
    pytest.param(dict(config=[VALID, api_item(sources=["70.80.90.7/24"])]), id="parameter-check"),
    pytest.param(dict(config=[VALID, dict(VALID, name="headless")]), id="cluster-check"),
])
def test_check_mode_fails_the_same_way_without_dry_runs(k8s_api, expose, shop, args):
    k8s_api.clear_requests()
    result = expose(check=True, **args)
    assert result.failed and "config[1]" in result["msg"], result
    assert all_writes(k8s_api) == []
    assert policy_objects(k8s_api) == []


def test_every_problem_is_reported_at_once(k8s_api, expose, shop):
    k8s_api.clear_requests()
    result = expose(config=[VALID, api_item(sources=["0.0.0.0/0"], ports=[0]), dict(VALID, name="Web")],
                    nodeport_range="1-2")
    assert result.failed
    errors = result["errors"]
    assert len(errors) == 4 and result["msg"].startswith("4 invalid inputs, nothing was changed: "), errors
    assert all_writes(k8s_api) == []


def test_the_table_covers_at_least_thirty_distinct_inputs():
    ids = [_case_id(c) for c in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    assert len(set(ids)) >= 30
