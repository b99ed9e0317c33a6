"""Builders for a realistic cluster in the emulator: Nodes with Calico's annotations, Services, IPPools, BGP config."""

from __future__ import annotations

OWNER_LABEL = "clusteredge.calico/owner"
PIN_ANNOTATIONS = ("clusteredge.calico/pinned-cluster-ips", "clusteredge.calico/pinned-by")
CALICO_KINDS = ("GlobalNetworkSet", "GlobalNetworkPolicy", "NetworkPolicy", "HostEndpoint")


def namespace(name):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def node(index, tunnel=True, ipv6=False):
    """node-<index> at 10.200.0.<10+index> (outside the service range) with an IPIP tunnel address from the default pool."""
    ip = "10.200.0.%d" % (10 + index)
    annotations = {"projectcalico.org/IPv4Address": ip + "/24"}
    addresses = [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": "node-%d" % index}]
    if tunnel:
        annotations["projectcalico.org/IPv4IPIPTunnelAddr"] = "192.168.%d.0" % index
    if ipv6:
        annotations["projectcalico.org/IPv6Address"] = "fd00:99::%d/64" % (10 + index)
        addresses.append({"type": "InternalIP", "address": "fd00:99::%d" % (10 + index)})
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "node-%d" % index, "labels": {"kubernetes.io/hostname": "node-%d" % index},
                         "annotations": annotations},
            "status": {"addresses": addresses}}


def node_hep_item(index, with_tunnel=True):
    """The calico_hostendpoint config item for node-<index>'s eth0 (node and tunnel addresses)."""
    ips = ["10.200.0.%d" % (10 + index)] + (["192.168.%d.0" % index] if with_tunnel else [])
    return dict(name="node-%d-eth0" % index, node="node-%d" % index, interface_name="eth0", expected_ips=ips,
                labels={"k8s-role": "node"})


def service(ns, name, ports=((80, "TCP", 8080),), cluster_ip=None, svc_type="ClusterIP", etp=None, selector=None,
            dual_stack=False, headless=False, named_target=None):
    spec = {"type": svc_type, "selector": selector if selector is not None else {"app": name},
            "ports": [{"name": "p%d" % port, "port": port, "protocol": proto, "targetPort": target}
                      for port, proto, target in ports]}
    if named_target:
        spec["ports"][0]["targetPort"] = named_target
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
    if headless:
        spec["clusterIP"] = "None"
    if dual_stack:
        spec["ipFamilyPolicy"] = "RequireDualStack"
        spec["ipFamilies"] = ["IPv4", "IPv6"]
    if etp:
        spec["externalTrafficPolicy"] = etp
    if svc_type == "ExternalName":
        spec = {"type": "ExternalName", "externalName": "db.example.com"}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"namespace": ns, "name": name}, "spec": spec}


def ippool(name, cidr, disabled=False, uses=None):
    spec = {"cidr": cidr, "disabled": disabled}
    if uses:
        spec["allowedUses"] = uses
    return {"apiVersion": "projectcalico.org/v3", "kind": "IPPool", "metadata": {"name": name}, "spec": spec}


def bgp_default(service_cluster_ips):
    return {"apiVersion": "projectcalico.org/v3", "kind": "BGPConfiguration", "metadata": {"name": "default"},
            "spec": {"serviceClusterIPs": [{"cidr": c} for c in service_cluster_ips]}}


def create(api, manifests):
    """Create through the API (Services get cluster IPs allocated as a real server does)."""
    from kubernetes.dynamic import DynamicClient

    client = DynamicClient(api.api_client())
    created = []
    for manifest in manifests:
        resource = client.resources.get(api_version=manifest["apiVersion"], kind=manifest["kind"])
        namespace = manifest["metadata"].get("namespace")
        created.append(resource.create(body=manifest, namespace=namespace).to_dict())
    return created


def standard_cluster(api, nodes=3, services=(), advertised=("10.96.0.0/12",)):
    api.seed([namespace("shop")] + [node(i) for i in range(1, nodes + 1)] + [bgp_default(list(advertised))])
    return create(api, list(services))


def comparable_objects(api):
    """What both approaches must agree on: labels and spec of every Calico object, the pins on Services.

    Left out: server metadata (uid, resourceVersion, timestamps) and the collection's own bookkeeping annotations
    (the exposure record on each pod policy), which a hand-written loop has no reason to write.
    """
    objects = {}
    for kind in CALICO_KINDS:
        for obj in api.objects(kind=kind, api_version="projectcalico.org/v3"):
            meta = obj["metadata"]
            key = "%s/%s" % (kind, "/".join(p for p in (meta.get("namespace"), meta["name"]) if p))
            objects[key] = {"labels": meta.get("labels") or {}, "spec": obj.get("spec")}
    for obj in api.objects(kind="Service"):
        annotations = obj["metadata"].get("annotations") or {}
        pins = dict((k, annotations[k]) for k in PIN_ANNOTATIONS if k in annotations)
        if pins:
            objects["Service/%s/%s" % (obj["metadata"]["namespace"], obj["metadata"]["name"])] = {"annotations": pins}
    return objects
