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


def http(server, method, path, body=None, token=None, content_type='application/json'):
    """(status, decoded JSON body or text, headers as a list of (name, value)) of one raw request."""
    import urllib.error
    import urllib.request
    data = json.dumps(body).encode() if body is not None else None
    headers = {'Content-Type': content_type}
    if token:
        headers['Authorization'] = f'Bearer {token}'
    request = urllib.request.Request(server.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            status, raw, header_items = resp.status, resp.read(), resp.headers.items()
    except urllib.error.HTTPError as exc:
        status, raw, header_items = exc.code, exc.read(), exc.headers.items()
    try:
        decoded = json.loads(raw or b'null')
    except ValueError:
        decoded = raw.decode()
    return status, decoded, list(header_items)


def policy(kind, name, namespace=None, **spec):
    """A projectcalico.org/v3 manifest of `kind` (GlobalNetworkPolicy, NetworkPolicy, Tier, staged kinds ...)."""
    meta = {'name': name}
    if namespace:
        meta['namespace'] = namespace
    return {'apiVersion': 'projectcalico.org/v3', 'kind': kind, 'metadata': meta, 'spec': spec}
