"""Conformance helper: validate a projectcalico.org/v3 object against Calico's CRD openAPIV3Schema.

The CRDs are read at run time from `<repo>/../shared/calico/crds` (or `$CALICO_REFERENCE_DIR/crds`; see
reference.py), never copied into the repo; missing_reason() says why they cannot be read (tests skip with it). They
describe structure only (field names and types); Calico's semantic rules live in calico_admission.py.
"""
from __future__ import annotations

import functools
import glob
import os
from typing import Any

import jsonschema
import yaml

from . import reference

CRD_SUBDIR = 'crds'


def crd_dir() -> str:
    """The Calico 3.28 CRDs: `crds/` of the reference directory."""
    return reference.subdir(CRD_SUBDIR)


def missing_reason(d: str | None = None) -> str | None:
    """Why the CRDs cannot be loaded from `d` (default: crd_dir()); None when they can."""
    return reference.missing_reason('Calico 3.28 CRDs', d or crd_dir(), CRD_SUBDIR)


def load_crd_schemas(directory: str | None = None) -> dict[str, dict]:
    """kind -> openAPIV3Schema (for the CRD's served version), from `directory` (default: crd_dir())."""
    return _load_crd_schemas(directory or crd_dir())


@functools.lru_cache(maxsize=None)
def _load_crd_schemas(directory: str) -> dict[str, dict]:
    schemas = {}
    for path in sorted(glob.glob(os.path.join(directory, '*.yaml'))):
        with open(path) as fh:
            for doc in yaml.safe_load_all(fh):
                if not doc or doc.get('kind') != 'CustomResourceDefinition':
                    continue
                version = doc['spec']['versions'][0]
                schemas[doc['spec']['names']['kind']] = _to_jsonschema(version['schema']['openAPIV3Schema'])
    if not schemas:
        raise FileNotFoundError(missing_reason(directory) or f'no CustomResourceDefinition found in {directory}')
    return schemas


def _to_jsonschema(node: Any) -> Any:
    """OpenAPI v3 structural schema -> JSON Schema: int-or-string becomes a oneOf, nullable is honoured."""
    if isinstance(node, list):
        return [_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_jsonschema(v) for k, v in node.items()
           if k not in ('x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields', 'description',
                        'x-kubernetes-list-type', 'x-kubernetes-map-type', 'nullable', 'format')}
    if node.get('x-kubernetes-int-or-string'):
        out.pop('type', None)
        out['anyOf'] = [{'type': 'integer'}, {'type': 'string'}]
    if node.get('type') == 'object' and 'properties' in node and not node.get('x-kubernetes-preserve-unknown-fields'):
        # Structural schemas prune unknown fields; for conformance we report them instead.
        out.setdefault('additionalProperties', False)
    if node.get('nullable') and 'type' in out:
        out['type'] = [out['type'], 'null']
    return out


def validate_against_crd(obj: dict) -> list[str]:
    """Error strings ('<path>: <message>') for spec/metadata of a projectcalico.org/v3 object; [] if it conforms."""
    errors: list[str] = []
    if obj.get('apiVersion') != 'projectcalico.org/v3':
        errors.append(f'apiVersion: expected projectcalico.org/v3, got {obj.get("apiVersion")!r}')
    schemas = load_crd_schemas()
    schema = schemas.get(obj.get('kind'))
    if schema is None:
        return errors + [f'kind: no CRD schema for {obj.get("kind")!r} (known: {sorted(schemas)})']
    meta = obj.get('metadata')
    if not isinstance(meta, dict) or not meta.get('name'):
        errors.append('metadata.name: required')
    subject = {k: v for k, v in obj.items() if k in ('spec', 'metadata')}
    subject['metadata'] = {}  # CRD schemas type metadata as a bare object; names are checked above
    unknown_top = set(obj) - {'apiVersion', 'kind', 'metadata', 'spec', 'status'}
    errors += [f'{k}: unknown top-level field' for k in sorted(unknown_top)]
    validator = jsonschema.Draft7Validator(schema)
    for err in sorted(validator.iter_errors(subject), key=lambda e: list(e.absolute_path)):
        path = '.'.join(str(p) for p in err.absolute_path) or '<root>'
        errors.append(f'{path}: {err.message}')
    return errors
