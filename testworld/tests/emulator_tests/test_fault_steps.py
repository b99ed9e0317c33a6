"""Fault rules that hit a chosen step (skip), keep a request in flight (hold), fail after applying (after), or make a
409 real (another_writer): what the fault matrix and the killed-run tests rely on."""

import threading
import time

import kubernetes.client
import pytest
import urllib3
from kubernetes.client.rest import ApiException

from helpers import custom, hep, status_of

GROUP = ('projectcalico.org', 'v3', 'hostendpoints')


def no_retry(server):
    cfg = server.client_configuration()
    cfg.retries = False
    return kubernetes.client.CustomObjectsApi(kubernetes.client.ApiClient(cfg))


def stored(server, name):
    return [o for o in server.objects('HostEndpoint') if o['metadata']['name'] == name][0]


def test_skip_lets_the_first_matching_requests_through(k8s_api):
    api = no_retry(k8s_api)
    k8s_api.inject_fault(method='POST', path='hostendpoints$', status=503, skip=2)
    api.create_cluster_custom_object(*GROUP, hep('a-eth0'))
    api.create_cluster_custom_object(*GROUP, hep('b-eth0'))
    with pytest.raises(ApiException) as exc:
        api.create_cluster_custom_object(*GROUP, hep('c-eth0'))
    assert exc.value.status == 503
    api.create_cluster_custom_object(*GROUP, hep('c-eth0'))
    assert [r['status'] for r in k8s_api.requests] == [201, 201, 503, 201]


def test_hold_keeps_the_request_in_flight_then_answers_it(k8s_api):
    api = no_retry(k8s_api)
    rule = k8s_api.inject_fault(method='POST', path='hostendpoints$', status=None, hold=1)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (api.create_cluster_custom_object(*GROUP, hep()), done.set()))
    worker.start()
    while rule.times:
        time.sleep(0.01)
    assert not done.is_set() and k8s_api.objects('HostEndpoint') == [], 'held: not answered, not applied yet'
    worker.join(30)
    assert done.is_set() and [o['metadata']['name'] for o in k8s_api.objects('HostEndpoint')] == ['node1-eth0']


def test_reset_after_applies_the_write_and_loses_the_answer(k8s_api):
    api = no_retry(k8s_api)
    k8s_api.inject_fault(method='POST', path='hostendpoints$', reset=True, after=True)
    with pytest.raises(urllib3.exceptions.HTTPError):
        api.create_cluster_custom_object(*GROUP, hep())
    assert [o['metadata']['name'] for o in k8s_api.objects('HostEndpoint')] == ['node1-eth0']


def test_another_writer_changes_the_object_before_the_409(k8s_api):
    api = custom(k8s_api)
    created = api.create_cluster_custom_object(*GROUP, hep())
    k8s_api.inject_fault(method='PUT', path='hostendpoints/node1-eth0$', status=409, another_writer=True,
                         mutate={'metadata': {'labels': {'edited-by': 'someone-else'}}})
    with pytest.raises(ApiException) as exc:
        api.replace_cluster_custom_object(*GROUP, 'node1-eth0', created)
    assert exc.value.status == 409 and status_of(exc.value)['reason'] == 'Conflict'
    now = stored(k8s_api, 'node1-eth0')
    assert now['metadata']['resourceVersion'] != created['metadata']['resourceVersion']
    assert now['metadata']['labels'] == {'edited-by': 'someone-else'}
    with pytest.raises(ApiException) as stale:
        api.replace_cluster_custom_object(*GROUP, 'node1-eth0', created)
    assert stale.value.status == 409, 'the old resourceVersion is stale for real'


def test_another_writer_creates_the_object_first(k8s_api):
    api = custom(k8s_api)
    k8s_api.inject_fault(method='POST', path='hostendpoints$', status=409, another_writer=True)
    with pytest.raises(ApiException) as exc:
        api.create_cluster_custom_object(*GROUP, hep())
    assert exc.value.status == 409 and status_of(exc.value)['reason'] == 'AlreadyExists'
    assert stored(k8s_api, 'node1-eth0')['spec'] == hep()['spec']
