"""A realistic cluster for the emulator, matching a set of test nodes: what molecule, the demo and role tests load.

Nodes carry Calico's address annotations (BGP address, IPIP tunnel address); Services of every type with their
EndpointSlices and Pods; IPPools (one disabled, one IPv6); BGPConfiguration advertising the service ranges;
FelixConfiguration with Felix's default failsafes.
"""

from __future__ import annotations

import ipaddress

SERVICE_CIDR_V4 = "10.96.0.0/12"
SERVICE_CIDR_V6 = "fd00:10:96::/112"
POD_POOL_V4 = "192.168.0.0/16"
OLD_POD_POOL_V4 = "172.30.0.0/16"
POD_POOL_V6 = "fd00:192:168::/64"


def _meta(name, namespace=None, **extra):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta.update(extra)
    return meta


def nodes(node_addresses, ipv6_addresses=None):
    """One Node per (name, address); the IPIP tunnel address is the first of the node's /26 block of the default pool."""
    manifests = []
    for index, (name, address) in enumerate(sorted(node_addresses.items()), start=1):
        annotations = {"projectcalico.org/IPv4Address": address + "/24",
                       "projectcalico.org/IPv4IPIPTunnelAddr": str(ipaddress.ip_address("192.168.0.0") + 64 * index)}
        addresses = [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": name}]
        v6 = (ipv6_addresses or {}).get(name)
        if v6:
            annotations["projectcalico.org/IPv6Address"] = v6 + "/64"
            addresses.insert(1, {"type": "InternalIP", "address": v6})
        manifests.append({"apiVersion": "v1", "kind": "Node",
                          "metadata": _meta(name, labels={"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
                                            annotations=annotations),
                          "status": {"addresses": addresses}})
    return manifests


def _service(namespace, name, ports, svc_type="ClusterIP", cluster_ip=None, etp=None, dual=False, headless=False):
    spec = {"type": svc_type, "selector": {"app": name},
            "ports": [{"name": pname, "port": port, "protocol": proto, "targetPort": target} for pname, port, proto, target in ports]}
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
        spec["clusterIPs"] = [cluster_ip]
    if headless:
        spec["clusterIP"] = "None"
    if etp:
        spec["externalTrafficPolicy"] = etp
    if dual:
        spec["ipFamilyPolicy"] = "RequireDualStack"
        spec["ipFamilies"] = ["IPv4", "IPv6"]
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, namespace), "spec": spec}


def _backends(namespace, name, node_names, ports, pod_base, dual=False):
    """Pods on the first two nodes and the EndpointSlice that points at them (named container ports included)."""
    manifests = []
    endpoints = []
    for index, node in enumerate(node_names[:2]):
        pod_ip = str(ipaddress.ip_address(pod_base) + index)
        pod_ips = [{"ip": pod_ip}] + ([{"ip": str(ipaddress.ip_address("fd00:192:168::a00") + int(pod_ip.rsplit(".", maxsplit=1)[-1]))}] if dual else [])
        pod = "%s-%d" % (name, index)
        container_ports = [{"name": target if isinstance(target, str) else pname, "containerPort": number, "protocol": proto}
                           for pname, _port, proto, target, number in ports]
        manifests.append({"apiVersion": "v1", "kind": "Pod", "metadata": _meta(pod, namespace, labels={"app": name}),
                          "spec": {"nodeName": node, "containers": [{"name": "app", "image": "registry.invalid/app:1",
                                                                     "ports": container_ports}]},
                          "status": {"phase": "Running", "podIP": pod_ip, "podIPs": pod_ips}})
        endpoints.append({"addresses": [pod_ip], "conditions": {"ready": True}, "nodeName": node,
                          "targetRef": {"kind": "Pod", "namespace": namespace, "name": pod}})
    manifests.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                      "metadata": _meta(name + "-abc12", namespace, labels={"kubernetes.io/service-name": name}),
                      "addressType": "IPv4", "endpoints": endpoints,
                      "ports": [{"name": pname, "port": number, "protocol": proto} for pname, _port, proto, _target, number in ports]})
    return manifests


def cluster(node_addresses, ipv6_addresses=None, failsafe_inbound=None):
    """Every manifest of the cluster, for EmulatorServer.seed or `python -m clusteredge_testworld.emulator serve --seed`."""
    names = sorted(node_addresses)
    manifests = [{"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(ns)} for ns in ("shop", "payments", "ops")]
    manifests += nodes(node_addresses, ipv6_addresses)
    manifests += [
        {"apiVersion": "projectcalico.org/v3", "kind": "IPPool", "metadata": _meta("old-ipv4-pool"),
         "spec": {"cidr": OLD_POD_POOL_V4, "disabled": True, "ipipMode": "Always", "natOutgoing": True, "blockSize": 26}},
        {"apiVersion": "projectcalico.org/v3", "kind": "IPPool", "metadata": _meta("default-ipv6-ippool"),
         "spec": {"cidr": POD_POOL_V6, "ipipMode": "Never", "vxlanMode": "Never", "natOutgoing": False, "blockSize": 122}},
        {"apiVersion": "projectcalico.org/v3", "kind": "BGPConfiguration", "metadata": _meta("default"),
         "spec": {"asNumber": 64512, "nodeToNodeMeshEnabled": True,
                  "serviceClusterIPs": [{"cidr": SERVICE_CIDR_V4}, {"cidr": SERVICE_CIDR_V6}]}},
    ]
    felix = {"apiVersion": "projectcalico.org/v3", "kind": "FelixConfiguration", "metadata": _meta("default"),
             "spec": {"bpfEnabled": False, "logSeverityScreen": "Info"}}
    if failsafe_inbound is not None:
        felix["spec"]["failsafeInboundHostPorts"] = failsafe_inbound
    manifests.append(felix)
    services = [
        # (namespace, name, type, ports as (name, port, protocol, targetPort, container port), extra)
        ("shop", "frontend", "ClusterIP", [("http", 80, "TCP", 8080, 8080), ("https", 443, "TCP", 8443, 8443)], {}),
        ("shop", "api", "ClusterIP", [("http", 8080, "TCP", "http-api", 9000)], {}),
        ("shop", "checkout", "LoadBalancer", [("https", 443, "TCP", 8443, 8443)], {"etp": "Local"}),
        ("payments", "ledger", "NodePort", [("grpc", 9443, "TCP", 9443, 9443)], {}),
        ("payments", "gateway", "ClusterIP", [("https", 443, "TCP", 8443, 8443)], {"dual": True}),
        ("ops", "metrics", "ClusterIP", [("metrics", 9090, "TCP", 9090, 9090)], {"headless": True}),
    ]
    pod_base = 10
    for namespace, name, svc_type, ports, extra in services:
        manifests.append(_service(namespace, name, [(p, port, proto, target) for p, port, proto, target, _n in ports],
                                  svc_type=svc_type, etp=extra.get("etp"), dual=extra.get("dual"), headless=extra.get("headless")))
        manifests += _backends(namespace, name, names, ports, "192.168.1.%d" % pod_base, dual=bool(extra.get("dual")))
        pod_base += 2
    manifests.append({"apiVersion": "v1", "kind": "Service", "metadata": _meta("billing-db", "payments"),
                      "spec": {"type": "ExternalName", "externalName": "db.billing.invalid"}})
    return manifests
