import json

import kubernetes.client
from kubernetes.client.rest import ApiException


def core(server):
    return kubernetes.client.CoreV1Api(server.api_client())


def custom(server):
    return kubernetes.client.CustomObjectsApi(server.api_client())


def status_of(exc: ApiException) -> dict:
    return json.loads(exc.body)


def hep(name='node1-eth0', **spec):
    spec.setdefault('node', 'node1')
    spec.setdefault('interfaceName', 'eth0')
    return {'apiVersion': 'projectcalico.org/v3', 'kind': 'HostEndpoint', 'metadata': {'name': name}, 'spec': spec}


def gnp(name='allow-x', **spec):
    return {'apiVersion': 'projectcalico.org/v3', 'kind': 'GlobalNetworkPolicy', 'metadata': {'name': name},
            'spec': spec}
