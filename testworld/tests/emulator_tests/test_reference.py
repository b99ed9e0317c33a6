"""emulator.reference: one variable ($CALICO_REFERENCE_DIR) moves all the reference data; without it tests skip."""
import pytest

from clusteredge_testworld.emulator import crd_mode, crd_schema, reference


def test_default_is_the_shared_directory_next_to_the_repository(monkeypatch):
    monkeypatch.delenv(reference.ENV_VAR, raising=False)
    assert reference.reference_dir() == reference.DEFAULT_REFERENCE_DIR
    assert reference.DEFAULT_REFERENCE_DIR.endswith('/shared/calico')
    assert crd_schema.crd_dir() == reference.DEFAULT_REFERENCE_DIR + '/crds'
    assert crd_mode.crd_dir() == reference.DEFAULT_REFERENCE_DIR + '/crds-3.32'


def test_an_empty_reference_dir_gives_reasons_naming_what_is_missing_and_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(reference.ENV_VAR, str(tmp_path))
    for module, name in ((crd_schema, 'crds'), (crd_mode, 'crds-3.32')):
        reason = module.missing_reason()
        assert str(tmp_path / name) in reason and 'CALICO_REFERENCE_DIR' in reason and f'holds {name}/' in reason
    assert reference.profile_missing_reason('3.32-crd') == crd_mode.missing_reason()
    assert reference.profile_missing_reason('3.32') is None and reference.profile_missing_reason('3.28') is None
    with pytest.raises(FileNotFoundError, match='Calico 3.28 CRDs not found'):
        crd_schema.load_crd_schemas()


def test_the_crds_are_read_from_the_variable(tmp_path, monkeypatch):
    (tmp_path / 'crds').mkdir()
    (tmp_path / 'crds' / 'hostendpoints.yaml').write_text(
        'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  names: {kind: HostEndpoint}\n'
        '  versions:\n  - name: v3\n    schema:\n      openAPIV3Schema: {type: object}\n', encoding='utf-8')
    monkeypatch.setenv(reference.ENV_VAR, str(tmp_path))
    assert crd_schema.missing_reason() is None
    assert list(crd_schema.load_crd_schemas()) == ['HostEndpoint']
