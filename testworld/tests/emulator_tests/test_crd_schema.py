"""emulator.crd_schema: Calico 3.28 CRD schemas, read from the reference directory (skipped when it is absent)."""
import pytest

from clusteredge_testworld.emulator.crd_schema import load_crd_schemas, missing_reason, validate_against_crd
from helpers import gnp, hep

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))


def test_schemas_loaded_from_shared_at_runtime():
    assert {'HostEndpoint', 'GlobalNetworkPolicy', 'NetworkPolicy', 'KubeControllersConfiguration'} <= set(
        load_crd_schemas())


def test_conforming_objects():
    assert validate_against_crd(hep(expectedIPs=['10.0.0.1'], ports=[{'name': 'x', 'port': 1, 'protocol': 'TCP'}])) == []
    assert validate_against_crd(gnp(order=10, preDNAT=True, applyOnForward=True, ingress=[
        {'action': 'Allow', 'protocol': 6, 'destination': {'ports': [80, '30000:32767', 'http']}}])) == []


def test_structural_errors():
    errors = validate_against_crd(gnp(tier='default', order='x', ingress=[{'action': 'Allow', 'source': {'nets': '10.0.0.0/8'}}]))
    assert any(e.startswith('spec:') and 'tier' in e for e in errors)
    assert any(e.startswith('spec.order') for e in errors)
    assert any(e.startswith('spec.ingress.0.source.nets') for e in errors)
    assert validate_against_crd({'apiVersion': 'crd.projectcalico.org/v1', 'kind': 'HostEndpoint',
                                 'metadata': {'name': 'x'}, 'spec': {}})[0].startswith('apiVersion')
    assert 'kind' in validate_against_crd({'apiVersion': 'projectcalico.org/v3', 'kind': 'Nope', 'metadata': {}})[0]
