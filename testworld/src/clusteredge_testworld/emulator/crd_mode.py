"""Calico 3.32 v3-CRD mode: what kube-apiserver does to a write of a `projectcalico.org/v3` custom resource.

In v3-CRD mode (SPEC-3.29-3.32 §2, §6) there is no Calico API server: the v3 kinds are plain CRDs, so a write goes
through kube-apiserver's generic custom-resource path only. This module re-enacts that path, in kube-apiserver's order:

1. decode: pruning of unknown fields against the structural schema (`preserveUnknownFields: false`; each pruned
   field is a warning `unknown field "spec.foo"`), dropping of non-nullable nulls, schema defaulting (`default:`);
2. mutating admission: the MutatingAdmissionPolicies of `admission-policies-and-webhooks.yaml` (`types` defaulting
   only when absent, by *presence* of ingress/egress; `spec.tier` and the `projectcalico.org/tier` label), each
   applied to the resources its matchConstraints name, its CEL evaluated by a real CEL engine; then defaulting again;
3. the strategy: `status` dropped (create) or kept from the old object (update) where the CRD has a /status
   subresource; ObjectMeta checks (name: DNS-1123 subdomain only, §3.2; labels);
4. validation: the openAPIV3Schema (types, enums, required, min/max, lengths, items, pattern, formats, allOf/anyOf),
   `x-kubernetes-list-type: set` duplicates, then every `x-kubernetes-validations` CEL rule (`self`, `oldSelf` for
   transition rules on updates; `message`/`messageExpression`/`reason`/`fieldPath` honoured). CEL rules are skipped
   with kube-apiserver's "some validation rules were not checked" error when a blocking schema error exists. On
   updates, validation ratcheting applies (unchanged invalid values are let through; CEL errors on them become
   warnings), as in Kubernetes >= 1.30.

Calico's Go validation (selector syntax, CIDR host bits, ports, ...) deliberately does NOT run (§6.1). The tier
existence / tiered-RBAC webhook needs cluster state and is not part of this module.

The CRDs and admission policies are read at run time from `<repo>/../shared/calico/crds-3.32` (or
`$CALICO_REFERENCE_DIR/crds-3.32`; see reference.py), never copied into the repository; missing_reason() says why
they cannot be read (tests skip with it). CEL is evaluated by `cel-expr-python` (Google's
CEL C++ runtime), pinned in requirements-dev.txt. Schemas and compiled CEL programs are cached.

Interface:
    admit(kind, obj, old, profile) -> (causes, warnings)    mutates `obj` in place into what would be stored
    admit_delete(kind, obj, profile) -> denials             ValidatingAdmissionPolicy on DELETE (built-in tiers)
    denial_error(kind, name, denials) -> ApiError           the Status kube-apiserver answers for such a denial
Causes are {'field', 'message', 'reason'} as in calico_admission (message = kube's ErrorBody, e.g.
`Unsupported value: "Foo": supported values: "Ingress", "Egress"`). A failing MutatingAdmissionPolicy (failurePolicy
Fail, e.g. a policy without `spec`) is not a 422: admit raises AdmissionPolicyDenied (an ApiError, 403 reason Invalid).
Root-level errors carry the field `<nil>` (kube-apiserver's rendering of an empty field path).

Not modelled (absent from the 3.32 CRDs): `x-kubernetes-list-type: map` lists, `optionalOldSelf`, embedded resources,
`x-kubernetes-preserve-unknown-fields`-style CEL typing; CEL cost budgets. Formats: cidr, date-time, ipv4, ipv6.
"""
from __future__ import annotations

import decimal
import functools
import glob
import ipaddress
import json
import math
import os
import re
from typing import Any

import yaml

from . import reference, validation
from .errors import ApiError

try:  # Google's CEL (C++ runtime); pinned in requirements-dev.txt
    from cel_expr_python import cel as _cel
except ImportError as _exc:  # pragma: no cover - exercised only on a broken venv
    _cel = None
    _CEL_IMPORT_ERROR = _exc
else:
    _CEL_IMPORT_ERROR = None

GROUP = 'projectcalico.org'
API_VERSION = 'projectcalico.org/v3'
CRD_SUBDIR = 'crds-3.32'
ENV_VAR = reference.ENV_VAR                              # re-exported: the one definition is in reference.py
DEFAULT_REFERENCE_DIR = reference.DEFAULT_REFERENCE_DIR
POLICIES_FILE = 'admission-policies-and-webhooks.yaml'

ROOT_FIELD = '<nil>'  # field.Path(nil).String(): where kube-apiserver reports root-level errors
NOT_CHECKED = ('some validation rules were not checked because the object was invalid; correct the existing errors '
               'to complete validation')
BLOCKING = frozenset(('FieldValueNotSupported', 'FieldValueRequired', 'FieldValueTooLong', 'FieldValueTooMany',
                      'FieldValueTypeInvalid'))
OBJECT_META_FIELDS = frozenset((
    'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
    'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers',
    'managedFields'))
ROOT_META = frozenset(('apiVersion', 'kind', 'metadata'))
DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
_MISSING = object()


class CrdSchemasMissing(FileNotFoundError):
    """The v3 CRDs (reference data, not part of the repository) are not where they should be."""


class AdmissionPolicyDenied(ApiError):
    """A MutatingAdmissionPolicy (failurePolicy Fail) could not be evaluated: kube-apiserver refuses the request."""


# --- reference data -----------------------------------------------------------------------------------
def reference_dir() -> str:
    """A `shared/calico`-like directory: $CALICO_REFERENCE_DIR, else `<repo>/../shared/calico` (see reference.py)."""
    return reference.reference_dir()


def crd_dir() -> str:
    return reference.subdir(CRD_SUBDIR)


def missing_reason(d: str | None = None) -> str | None:
    """Why the CRDs cannot be loaded from `d` (default: crd_dir()); None when they can."""
    return reference.missing_reason('Calico 3.32 v3 CRDs and admission policies', d or crd_dir(), CRD_SUBDIR,
                                    ('projectcalico.org_*.yaml', POLICIES_FILE))


def _require_cel():
    if _cel is None:
        raise RuntimeError(f'cel-expr-python is not installed ({_CEL_IMPORT_ERROR}); run scripts/bootstrap.sh')
    return _cel


class Rule:
    __slots__ = ('rule', 'message', 'message_expression', 'reason', 'field_path', 'uses_old_self', 'optional_old_self',
                 'program', 'message_program')

    def __init__(self, spec: dict):
        self.rule = spec['rule']
        self.message = (spec.get('message') or '').strip()
        self.message_expression = spec.get('messageExpression')
        self.reason = spec.get('reason')
        self.field_path = spec.get('fieldPath')
        self.uses_old_self = bool(re.search(r'\boldSelf\b', self.rule))
        self.optional_old_self = bool(spec.get('optionalOldSelf'))
        self.program = _compile(self.rule, 'rule')
        self.message_program = _compile(self.message_expression, 'rule') if self.message_expression else None

    def error_string(self) -> str:
        return self.message or self.rule.strip()


def _go_regexp(pattern: str):
    """An RE2 pattern for Python's re: ASCII classes, and a mid-pattern `(?i)` (RE2 allows it after `^`) scoped."""
    at = pattern.find('(?i)')
    if at > 0:
        pattern = pattern[:at] + '(?i:' + pattern[at + 4:] + ')'
    return re.compile(pattern, re.ASCII)


class Node:
    """One compiled structural-schema node."""
    __slots__ = ('type', 'types', 'props', 'items', 'addl', 'required', 'enum', 'enum_strs', 'minimum', 'maximum',
                 'excl_min', 'excl_max', 'min_length', 'max_length', 'min_items', 'max_items', 'pattern', 'pattern_src',
                 'format', 'list_type', 'map_type', 'nullable', 'has_default', 'default', 'preserve', 'all_of', 'any_of',
                 'rules', 'combined', 'str_checks', 'num_checks', 'has_rules', 'has_sets', 'has_defaults',
                 'default_props', 'deep_default_props', 'items_program', 'trivial')

    def __init__(self, s: dict):
        s = s or {}
        self.type = s.get('type', '')
        if s.get('x-kubernetes-int-or-string'):
            self.types = ('integer', 'string')
        else:
            self.types = (self.type,) if self.type else ()
        self.props = {k: Node(v) for k, v in (s.get('properties') or {}).items()} or None
        self.items = Node(s['items']) if isinstance(s.get('items'), dict) else None
        addl = s.get('additionalProperties')
        self.addl = Node(addl) if isinstance(addl, dict) else None
        self.required = tuple(s.get('required') or ())
        self.enum = s.get('enum')
        self.enum_strs = [e if isinstance(e, str) else _go_json(e) for e in self.enum] if self.enum is not None else None
        self.minimum, self.maximum = s.get('minimum'), s.get('maximum')
        self.excl_min, self.excl_max = bool(s.get('exclusiveMinimum')), bool(s.get('exclusiveMaximum'))
        self.min_length, self.max_length = s.get('minLength'), s.get('maxLength')
        self.min_items, self.max_items = s.get('minItems'), s.get('maxItems')
        self.pattern_src = s.get('pattern')
        # `^.*` (every int-or-string field) matches any string: no need to run it.
        self.pattern = _go_regexp(self.pattern_src) if self.pattern_src not in (None, '^.*') else None
        fmt = (s.get('format') or '').replace('-', '')
        self.format = fmt if fmt in _FORMATS and self.type in ('', 'string') else ''
        self.list_type = s.get('x-kubernetes-list-type', '')
        self.map_type = s.get('x-kubernetes-map-type', '')
        self.nullable = bool(s.get('nullable'))
        self.has_default = 'default' in s
        self.default = s.get('default')
        self.preserve = bool(s.get('x-kubernetes-preserve-unknown-fields'))
        self.all_of = [Node(x) for x in s.get('allOf') or ()]
        self.any_of = [Node(x) for x in s.get('anyOf') or ()]
        self.rules = [Rule(r) for r in s.get('x-kubernetes-validations') or ()]
        # One CEL program per node evaluating every rule at once (a list of bools); per-rule programs are the
        # fallback when it errors. `all` includes transition rules (used when an old value is correlated).
        self.combined = {
            'all': _combined(self.rules),
            'new': _combined([r for r in self.rules if not r.uses_old_self]),
        }
        self.str_checks = self.max_length is not None or self.min_length is not None or self.pattern is not None \
            or bool(self.format)
        self.num_checks = self.minimum is not None or self.maximum is not None
        # Items' (non-transition) rules of all list elements in one CEL call: self.map(_i, [rules with self -> _i]).
        self.items_program = None
        if self.items is not None and self.items.rules and not any(r.uses_old_self for r in self.items.rules):
            renamed = [_rename_self(r.rule) for r in self.items.rules]
            if all(renamed):
                self.items_program = _compile('self.map(_i, [' + ', '.join(f'({r})' for r in renamed) + '])', 'rule')
        # A node with nothing to check beyond its type (most leaves): validated by a type test only.
        any_of_types = {t for b in self.any_of for t in b.types} if all(b.trivial and b.types for b in self.any_of) \
            else set()
        implied_any_of = bool(self.types) and set(self.types) <= any_of_types  # int-or-string's anyOf
        self.trivial = not (self.props or self.items or self.addl or (self.any_of and not implied_any_of)
                            or self.all_of or self.required
                            or self.enum is not None or self.str_checks or self.num_checks or self.min_items is not None
                            or self.max_items is not None or self.list_type == 'set')
        children = list((self.props or {}).values()) + [c for c in (self.items, self.addl) if c]
        self.has_rules = bool(self.rules) or any(c.has_rules for c in children + self.all_of)
        self.has_sets = self.list_type in ('set', 'map') or any(c.has_sets for c in children)
        self.has_defaults = any(c.has_default or c.has_defaults for c in children)
        self.default_props = [(k, p) for k, p in (self.props or {}).items() if p.has_default]
        self.deep_default_props = [(k, p) for k, p in (self.props or {}).items() if p.has_defaults]

    def child(self, key: str):
        if self.props is not None and key in self.props:
            return self.props[key]
        return self.addl


def _rename_self(rule: str) -> str | None:
    """`self` -> `_i` outside string literals (None if the rule already uses `_i`)."""
    if re.search(r'\b_i\b', rule):
        return None
    parts = re.split(r'("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')', rule)
    return ''.join(p if i % 2 else re.sub(r'\bself\b', '_i', p) for i, p in enumerate(parts))


def _combined(rules: list):
    if len(rules) < 2:
        return None
    return rules, _compile('[' + ', '.join(f'({r.rule})' for r in rules) + ']', 'rule')


class Crd:
    def __init__(self, doc: dict):
        spec = doc['spec']
        self.kind = spec['names']['kind']
        self.plural = spec['names']['plural']
        self.namespaced = spec.get('scope') == 'Namespaced'
        version = next(v for v in spec['versions'] if v.get('storage', True))
        self.status_subresource = 'status' in (version.get('subresources') or {})
        self.schema = Node(version['schema']['openAPIV3Schema'])


class Policy:
    """A MutatingAdmissionPolicy or ValidatingAdmissionPolicy with its binding."""

    def __init__(self, doc: dict, binding: str | None):
        spec = doc['spec']
        self.kind = doc['kind']
        self.name = doc['metadata']['name']
        self.binding = binding
        self.failure_policy = spec.get('failurePolicy', 'Fail')
        rules = (spec.get('matchConstraints') or {}).get('resourceRules') or []
        self.targets = {(op, res) for r in rules if GROUP in r.get('apiGroups', ())
                        for op in r.get('operations', ()) for res in r.get('resources', ())}
        # `variables.x` is inlined as `(x's expression)`: same lazy semantics as Kubernetes' composited
        # variables (evaluated only where used, an error surfacing only then), and one CEL activation per
        # object state.
        self.variables = {v['name']: v['expression'] for v in spec.get('variables') or ()}
        self.match_conditions = [(c['name'], c['expression'], self._program(c['expression']))
                                 for c in spec.get('matchConditions') or ()]
        self.mutations = []
        for m in spec.get('mutations') or ():
            if m.get('patchType') != 'JSONPatch':
                raise NotImplementedError(f'{self.name}: patchType {m.get("patchType")} is not emulated')
            expr = m['jsonPatch']['expression']
            self.mutations.append((expr, self._program(expr)))
        self.validations = [(v['expression'], self._program(v['expression']), v.get('message'),
                             self._program(v['messageExpression']) if v.get('messageExpression') else None,
                             v.get('reason'))
                            for v in spec.get('validations') or ()]

    def _inline(self, expression: str, depth: int = 0) -> str:
        if depth > 10:
            raise ValueError(f'{self.name}: variables refer to each other in a cycle')
        return re.sub(r'\bvariables\.([A-Za-z_][A-Za-z0-9_]*)',
                      lambda m: '(' + self._inline(_jsonpatch_literals(self.variables[m.group(1)]), depth + 1) + ')',
                      expression)

    def _program(self, expression: str):
        return _compile(self._inline(_jsonpatch_literals(expression)), 'admission')

    def applies(self, operation: str, plural: str) -> bool:
        return (operation, plural) in self.targets or ('*', plural) in self.targets


class Reference:
    def __init__(self, directory: str):
        self.crds: dict[str, Crd] = {}
        for path in sorted(glob.glob(os.path.join(directory, 'projectcalico.org_*.yaml'))):
            with open(path, encoding='utf-8') as fh:
                for doc in yaml.safe_load_all(fh):
                    if doc and doc.get('kind') == 'CustomResourceDefinition' and doc['spec']['group'] == GROUP:
                        crd = Crd(doc)
                        self.crds[crd.kind] = crd
        with open(os.path.join(directory, POLICIES_FILE), encoding='utf-8') as fh:
            docs = [d for d in yaml.safe_load_all(fh) if d]
        bindings = {d['spec']['policyName']: d['metadata']['name'] for d in docs
                    if d.get('kind', '').endswith('AdmissionPolicyBinding')}
        policies = [Policy(d, bindings.get(d['metadata']['name'])) for d in docs
                    if d.get('kind') in ('MutatingAdmissionPolicy', 'ValidatingAdmissionPolicy')]
        # A policy without a binding is never invoked; dispatch order: by policy name (deterministic).
        policies = sorted((p for p in policies if p.binding), key=lambda p: p.name)
        self.mutating = [p for p in policies if p.kind == 'MutatingAdmissionPolicy']
        self.validating = [p for p in policies if p.kind == 'ValidatingAdmissionPolicy']


@functools.lru_cache(maxsize=None)
def load_reference(directory: str | None = None) -> Reference:
    """Parsed CRDs and admission policies (cached per directory)."""
    directory = directory or crd_dir()
    reason = missing_reason(directory)
    if reason:
        raise CrdSchemasMissing(reason)
    _require_cel()
    return Reference(directory)


def crd_for(kind: str) -> Crd:
    ref = load_reference(crd_dir())
    try:
        return ref.crds[kind]
    except KeyError:
        raise KeyError(f'{kind} is not a projectcalico.org/v3 CRD in v3-CRD mode (known: {sorted(ref.crds)})') from None


# --- CEL ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _env(purpose: str):
    c = _require_cel()
    names = ('self', 'oldSelf') if purpose == 'rule' else ('object', 'oldObject', 'params', 'variables', 'request',
                                                           'namespaceObject')
    return c.NewEnv(variables={n: c.Type.DYN for n in names})


@functools.lru_cache(maxsize=None)
def _compile(expression: str, purpose: str):
    return _env(purpose).compile(expression)


def _split_top_level(text: str, sep: str = ',') -> list[str]:
    """`text` split at `sep` outside brackets and string literals."""
    parts, start = [], 0
    for i, c, depth in _scan(text):
        if c == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _scan(text: str, start: int = 0, depth: int = 0):
    """(index, character, bracket depth before it) for every character of `text` outside string literals, from `start`.

    Closing brackets are reported at the depth they close to, so a caller looking for the end of a group stops at
    the first one that reports depth -1 relative to where it started."""
    quote, i = None, start
    while i < len(text):
        c = text[i]
        if quote:
            if c == '\\':
                i += 1
            elif c == quote:
                quote = None
        elif c in '"\'':
            quote = c
        elif c in '([{':
            yield i, c, depth
            depth += 1
        elif c in ')]}':
            depth -= 1
            yield i, c, depth
        else:
            yield i, c, depth
        i += 1


def _jsonpatch_literals(expression: str) -> str:
    """`JSONPatch{op: "add", path: ..., value: ...}` (Kubernetes' CEL object type for MAP mutations) as the CEL map
    literal `{'op': "add", 'path': ..., 'value': ...}` (only the field names of JSONPatch bodies are touched)."""
    out, i = [], 0
    while True:
        start = expression.find('JSONPatch{', i)
        if start < 0:
            return ''.join(out) + expression[i:]
        body_start = start + len('JSONPatch{')
        # The closing brace of JSONPatch{...}: the first bracket that brings the depth back below where the body began.
        pos = next(i for i, c, depth in _scan(expression, body_start) if c in ')]}' and depth < 0) + 1
        fields = []
        for field in _split_top_level(expression[body_start:pos - 1]):
            name, colon, value = field.partition(':')
            if not colon or not name.strip().isidentifier():
                raise ValueError(f'unexpected JSONPatch field {field!r}')
            fields.append(f"'{name.strip()}': {_jsonpatch_literals(value.strip())}")
        out.append(expression[i:start] + '{' + ', '.join(fields) + '}')
        i = pos


class CelError(Exception):
    pass


def _cel_go_message(text: str) -> str:
    """cel-cpp's error text in cel-go's words (the ones kube-apiserver prints)."""
    m = re.search(r'Key not found in map\s*:\s*"?([^"]*)"?', text)
    if m:
        return f'no such key: {m.group(1)}'
    if 'No matching overloads' in text or 'no matching overload' in text:
        return 'no such overload'
    return re.sub(r'^[A-Z_]+:\s*', '', text)


def _eval(program, data: dict | None = None, activation=None):
    result = program.eval(activation) if activation is not None else program.eval(data=data)
    if result.type() == _cel.Type.ERROR:
        raise CelError(_cel_go_message(str(result.value())))
    return result.plain_value()


# --- Go-style rendering -----------------------------------------------------------------------------
def _go_json(value: Any) -> str:
    text = json.dumps(value, separators=(',', ':'), sort_keys=True, ensure_ascii=False)
    return text.replace('<', '\\u003c').replace('>', '\\u003e').replace('&', '\\u0026')


def _go_float(f: float) -> str:
    """fmt's %v for a float64: strconv.FormatFloat(f, 'g', -1, 64)."""
    if math.isnan(f):
        return 'NaN'
    if f in (float('inf'), float('-inf')):
        return '+Inf' if f > 0 else '-Inf'
    if f == 0:
        return '0'
    sign, digits, exp = decimal.Decimal(repr(f)).normalize().as_tuple()
    ds = ''.join(map(str, digits))
    x = len(ds) + exp - 1  # decimal exponent of the first significant digit
    if x < -4 or x >= 6:
        mant = ds[0] + ('.' + ds[1:] if len(ds) > 1 else '')
        out = f'{mant}e{"-" if x < 0 else "+"}{abs(x):02d}'
    elif x < 0:
        out = '0.' + '0' * (-x - 1) + ds
    elif len(ds) <= x + 1:
        out = ds + '0' * (x + 1 - len(ds))
    else:
        out = ds[:x + 1] + '.' + ds[x + 1:]
    return ('-' if sign else '') + out


def _go_value(v: Any) -> str:
    """How field.Error.ErrorBody renders a BadValue."""
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _go_float(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    return _go_json(v)


def _go_quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _num(v) -> str:
    """A schema bound (float64 in go-openapi) as %v prints it."""
    return _go_float(float(v))


# causes --------------------------------------------------------------------------------------------
def _invalid(field, value, detail, reason='FieldValueInvalid'):
    return {'field': field, 'reason': reason, 'message': f'Invalid value: {_go_value(value)}: {detail}'}


def _type_invalid(field, value, detail):
    return _invalid(field, value, detail, 'FieldValueTypeInvalid')


def _required(field, detail=''):
    return {'field': field, 'reason': 'FieldValueRequired',
            'message': 'Required value' + (f': {detail}' if detail else '')}


def _forbidden(field, detail):
    return {'field': field, 'reason': 'FieldValueForbidden', 'message': f'Forbidden: {detail}'}


def _duplicate(field, value):
    return {'field': field, 'reason': 'FieldValueDuplicate', 'message': f'Duplicate value: {_go_value(value)}'}


def _not_supported(field, value, supported):
    detail = ('supported values: ' + ', '.join(_go_quote(s) for s in supported)) if supported else ''
    return {'field': field, 'reason': 'FieldValueNotSupported',
            'message': f'Unsupported value: {_go_value(value)}' + (f': {detail}' if detail else '')}


def _too_long(field, max_length):
    unit = 'byte' if max_length == 1 else 'bytes'
    return {'field': field, 'reason': 'FieldValueTooLong', 'message': f'Too long: may not be more than {max_length} {unit}'}


def _too_many(field, actual, maximum):
    unit = 'item' if maximum == 1 else 'items'
    return {'field': field, 'reason': 'FieldValueTooMany',
            'message': f'Too many: {actual}: must have at most {maximum} {unit}'}


def _rule_error(field, sts_type, detail, reason):
    if reason == 'FieldValueForbidden':
        return _forbidden(field, detail)
    if reason == 'FieldValueRequired':
        return _required(field, detail)
    if reason == 'FieldValueDuplicate':
        return _duplicate(field, sts_type)
    return _invalid(field, sts_type, detail)


def _field(path: str) -> str:
    return path or ROOT_FIELD


def _error_string(cause: dict) -> str:
    return f'{cause["field"]}: {cause["message"]}'


# --- formats (kube-openapi strfmt, the ones CRDs support) ----------------------------------------------
def _is_cidr(s: str) -> bool:
    """net.ParseCIDR: an IP, '/', decimal prefix length; host bits allowed; no zones, no netmask form."""
    addr, sep, bits = s.partition('/')
    if not sep or not bits.isdigit() or len(bits) > 3 or '%' in addr:
        return False
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return int(bits) <= ip.max_prefixlen


_DATETIME_RE = re.compile(r'^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$')
_FORMATS = {
    'cidr': _is_cidr,
    'datetime': lambda s: bool(_DATETIME_RE.match(s)),
    'ipv4': lambda s: _ip_ok(s, 4),
    'ipv6': lambda s: _ip_ok(s, 6),
}


def _ip_ok(s: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(s).version == version
    except ValueError:
        return False


# --- decode: pruning, nulls, defaulting -------------------------------------------------------------------
def _prune(value, node: Node | None, path: str, unknown: list[str], root: bool = False) -> None:
    """structuralpruning.Prune (unknown fields, recorded for warnings) and, in the same walk,
    structuraldefaulting.PruneNonNullableNullsWithoutDefaults."""
    if node is not None and node.preserve:
        return
    if isinstance(value, dict):
        props = node.props if node is not None else None
        addl = node.addl if node is not None else None
        for key in list(value):
            if root and key in ROOT_META:
                continue
            sub = props.get(key) if props is not None else None
            if sub is None:
                sub = addl
            if sub is None:
                unknown.append(f'{path}.{key}' if path else key)
                del value[key]
                continue
            v = value[key]
            if v is None:
                if sub is not addl and not sub.has_default and not sub.nullable:
                    del value[key]
            elif isinstance(v, (dict, list)):
                _prune(v, sub, f'{path}.{key}' if path else key, unknown)
    elif isinstance(value, list):
        items = node.items if node is not None else None
        for i, v in enumerate(value):
            if isinstance(v, (dict, list)):
                _prune(v, items, f'{path}[{i}]', unknown)


def _prune_metadata(obj: dict, unknown: list[str]) -> None:
    """ObjectMeta decoding (schemaobjectmeta.Coerce): unknown metadata fields are dropped (and reported), nulls are
    absent values."""
    meta = obj.get('metadata')
    if isinstance(meta, dict):
        for key in list(meta):
            if key not in OBJECT_META_FIELDS:
                unknown.append(f'metadata.{key}')
                del meta[key]
            elif meta[key] is None:
                del meta[key]


def _default(value, node: Node) -> None:
    """structuraldefaulting.Default (only subtrees whose schema has a `default:` are visited)."""
    if isinstance(value, dict):
        for key, prop in node.default_props:
            if key not in value or (value[key] is None and not prop.nullable):
                value[key] = json.loads(json.dumps(prop.default))
        for key, prop in node.deep_default_props:
            v = value.get(key)
            if v is not None:
                _default(v, prop)
        addl = node.addl
        if addl is not None and (addl.has_default or addl.has_defaults):
            props = node.props or {}
            for key, v in value.items():
                if key in props:
                    continue
                if v is None and addl.has_default and not addl.nullable:
                    value[key] = v = json.loads(json.dumps(addl.default))
                if addl.has_defaults and v is not None:
                    _default(v, addl)
    elif isinstance(value, list):
        items = node.items
        if items is not None and (items.has_default or items.has_defaults):
            for i, v in enumerate(value):
                if v is None and items.has_default and not items.nullable:
                    value[i] = v = json.loads(json.dumps(items.default))
                if items.has_defaults and v is not None:
                    _default(v, items)


# --- schema validation (kube-openapi semantics, with ratcheting) ----------------------------------------
_TYPE_NAMES = {dict: 'object', list: 'array', str: 'string', bool: 'boolean', int: 'integer', float: 'number',
               type(None): 'null'}


def _sch_type(v) -> str:
    return _TYPE_NAMES.get(type(v), 'unknown')


def strict_equal(a, b) -> bool:
    """reflect.DeepEqual on JSON values (true is not 1, 1 is not 1.0): Python's == (fast, but lenient about those)
    confirmed by the canonical JSON text."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, (dict, list)):
        return a == b and _canonical(a) == _canonical(b)
    return a == b


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(',', ':'))


def _enum_match(value, enum: list) -> bool:
    for e in enum:
        if isinstance(e, bool) or isinstance(value, bool):
            if isinstance(e, bool) and isinstance(value, bool) and e == value:
                return True
        elif isinstance(e, (int, float)) and isinstance(value, (int, float)):
            if e == value:
                return True
        elif strict_equal(e, value):
            return True
    return False


def _set_key(x):
    if isinstance(x, (dict, list)):
        return ('c', _go_json(x))
    return (type(x).__name__, x)


def _validate(node: Node, value, path: str, errs: list, set_errs: list, old=_MISSING) -> None:
    """kube-openapi SchemaValidator for one node and below, with CRD validation ratcheting: `old` is the correlated
    old value (or _MISSING); an unchanged correlated value yields no errors. `x-kubernetes-list-type: set` duplicates
    (structurallisttype) are collected into `set_errs` in the same walk."""
    if old is not _MISSING and strict_equal(value, old):
        return
    st = _TYPE_NAMES.get(type(value), 'unknown')
    if node.trivial and (st in node.types or not node.types):
        return
    if st == 'null':
        if node.types and not node.nullable:
            errs.append(_type_invalid(_field(path), 'null',
                                      f'{path} in body must be of type {",".join(node.types)}: "null"'))
        return
    types = node.types
    if types and st not in types and not (
            st == 'number' and 'integer' in types and float(value).is_integer()) and not (
            st == 'integer' and 'number' in types):
        errs.append(_type_invalid(_field(path), st, f'{path} in body must be of type {",".join(types)}: "{st}"'))
    if node.any_of:
        branch_errs = []
        for sub in node.any_of:
            e: list = []
            _validate(sub, value, path, e, [])
            if not e:
                break
            branch_errs.append(e)
        else:
            errs.append(_invalid(ROOT_FIELD, '', f'{_go_quote(path)} must validate at least one schema (anyOf)'))
            errs.extend(branch_errs[0])
    if node.all_of:
        passed = 0
        for sub in node.all_of:
            e = []
            _validate(sub, value, path, e, [])
            passed += not e
            errs.extend(e)
        if passed != len(node.all_of):
            errs.append(_invalid(ROOT_FIELD, '', f'{_go_quote(path)} must validate all the schemas (allOf)'
                                                 + ('. None validated' if passed == 0 else '')))
    if st == 'object':
        correlatable = isinstance(old, dict)
        props, addl = node.props, node.addl
        for key in sorted(value):
            sub = props.get(key) if props is not None else None
            if sub is None:
                sub = addl
                if sub is None:
                    continue
            _validate(sub, value[key], f'{path}.{key}' if path else key, errs, set_errs,
                      old.get(key, _MISSING) if correlatable else _MISSING)
        for key in node.required:
            if key not in value:
                errs.append(_required(f'{path}.{key}' if path else key))
    elif st == 'string':
        if node.str_checks:
            field = _field(path)
            if node.max_length is not None and len(value) > node.max_length:
                errs.append(_too_long(field, node.max_length))
            if node.min_length is not None and len(value) < node.min_length:
                errs.append(_invalid(field, value, f'{path} in body should be at least {node.min_length} chars long'))
            if node.pattern is not None and not node.pattern.search(value):
                errs.append(_invalid(field, value, f"{path} in body should match '{node.pattern_src}'"))
            if node.format and not _FORMATS[node.format](value):
                fmt_name = 'date-time' if node.format == 'datetime' else node.format
                errs.append(_type_invalid(field, value,
                                          f'{path} in body must be of type {fmt_name}: {_go_quote(value)}'))
    elif st == 'array':
        items = node.items
        if items is not None:
            trivial_types = items.types if items.trivial else None
            for i, item in enumerate(value):  # only map-type lists correlate items (ratcheting); none here
                if trivial_types is None or _TYPE_NAMES.get(type(item)) not in trivial_types:
                    _validate(items, item, f'{path}[{i}]', errs, set_errs)
        if node.min_items is not None and len(value) < node.min_items:
            errs.append(_invalid(_field(path), len(value),
                                 f'{path} in body should have at least {node.min_items} items'))
        if node.max_items is not None and len(value) > node.max_items:
            errs.append(_too_many(_field(path), len(value), node.max_items))
        if node.list_type == 'set' and len(value) > 1:
            seen: dict = {}
            for i, x in enumerate(value):
                k = _set_key(x)
                seen[k] = seen.get(k, 0) + 1
                if seen[k] == 2:
                    set_errs.append(_duplicate(f'{path}[{i}]', x))
    elif node.num_checks and st in ('integer', 'number'):
        field = _field(path)
        if node.minimum is not None and (value < node.minimum or node.excl_min and value == node.minimum):
            rel = 'greater than' if node.excl_min else 'greater than or equal to'
            errs.append(_invalid(field, value, f'{path} in body should be {rel} {_num(node.minimum)}'))
        if node.maximum is not None and (value > node.maximum or node.excl_max and value == node.maximum):
            rel = 'less than' if node.excl_max else 'less than or equal to'
            errs.append(_invalid(field, value, f'{path} in body should be {rel} {_num(node.maximum)}'))
    if node.enum is not None and not _enum_match(value, node.enum):
        errs.append(_not_supported(_field(path), value, node.enum_strs))


def _set_errors(node: Node, value, path: str = '') -> list:
    """structurallisttype.ValidateListSetsAndMaps alone (for the old object of an update)."""
    out: list = []
    if not node.has_sets:
        return out
    if isinstance(value, dict):
        for key, v in value.items():
            sub = node.child(key)
            if sub is not None:
                out += _set_errors(sub, v, f'{path}.{key}' if path else key)
    elif isinstance(value, list):
        if node.list_type == 'set' and len(value) > 1 and len({_set_key(x) for x in value}) != len(value):
            out.append(path)
        if node.items is not None:
            for i, x in enumerate(value):
                out += _set_errors(node.items, x, f'{path}[{i}]')
    return out


# --- CEL validation rules -------------------------------------------------------------------------------
def _normalize_field_path(field_path: str, node: Node) -> str:
    """A rule's fieldPath (`.foo.bar`, `['key']`) as field.Path prints it under the rule's node."""
    out = ''
    for name, quoted in re.findall(r"\.([^.\[\]]+)|\['((?:[^'\\]|\\.)*)'\]", field_path):
        key = name or quoted.replace("\\'", "'")
        if node is not None and node.props is not None and key in node.props:
            out += f'.{key}'
            node = node.props[key]
        else:
            out += f'[{key}]'
            node = node.addl if node is not None else None
    return out


def _cel_self(node: Node, value, root: bool):
    if root and isinstance(value, dict):
        meta = value.get('metadata') or {}
        value = dict(value, metadata={k: meta[k] for k in ('name', 'generateName') if k in meta})
    return value


def _validate_rules(node: Node, value, path: str, errs: list, warns: list, old=_MISSING,
                    nearest_equal: bool | None = None, root: bool = False, precomputed: list | None = None,
                    known_equal: bool = False) -> None:
    """cel.Validator.validate: x-kubernetes-validations of `node` and below. `old` is the correlated old value;
    `nearest_equal` whether the nearest correlatable ancestor-or-self equals its old value (ratcheting)."""
    if value is None or not node.has_rules:
        return
    correlated = old is not _MISSING
    if correlated:
        equal_here = known_equal or strict_equal(value, old)  # children of an equal value are equal too
    else:
        equal_here = nearest_equal
    if node.rules:
        field = _field(path)
        data = {'self': _cel_self(node, value, root)}
        if correlated:
            data['oldSelf'] = _cel_self(node, old, root)
        sts_type = node.type
        combined = node.combined['all' if correlated else 'new']
        results = None
        if precomputed is not None:  # the list's batch program already evaluated this item's rules
            results = dict(zip(map(id, node.rules), precomputed))
        elif combined is not None:
            try:
                results = dict(zip(map(id, combined[0]), _eval(combined[1], data)))
            except CelError:
                results = None  # some rule errors: evaluate one by one to report it
        for rule in node.rules:
            if rule.uses_old_self and not correlated:
                continue  # transition rules only run against a correlated old value
            ok = results.get(id(rule)) if results is not None else None
            if ok is None:
                try:
                    ok = _eval(rule.program, data)
                except CelError as exc:
                    msg = str(exc)
                    if msg.startswith('no such overload'):
                        detail = (f"'{msg}': call arguments did not match a supported operator, function or macro "
                                  f'signature for rule: {rule.error_string()}')
                    else:
                        detail = f'{msg} evaluating rule: {rule.error_string()}'
                    errs.append(_invalid(field, sts_type, detail))
                    continue
            if ok is True:
                continue
            rule_field = _field(path + _normalize_field_path(rule.field_path, node)) if rule.field_path else field
            detail = None
            if rule.message_program is not None:
                try:
                    text = _eval(rule.message_program, data)
                    if isinstance(text, str) and text.strip() and '\n' not in text.strip():
                        detail = text.strip()
                except CelError:
                    pass
            if detail is None:
                detail = rule.message or f'failed rule: {rule.error_string()}'
            cause = _rule_error(rule_field, sts_type, detail, rule.reason)
            if not rule.uses_old_self and equal_here:
                warns.append(_error_string(cause))
            else:
                errs.append(cause)
    for sub in node.all_of:
        _validate_rules(sub, value, path, errs, warns, _MISSING, equal_here if correlated else nearest_equal)
    if isinstance(value, dict):
        correlatable = correlated and isinstance(old, dict) and node.map_type != 'atomic'
        for key in sorted(value):
            sub = node.props.get(key) if node.props else None
            child_path = (f'{path}.{key}' if path else key) if sub is not None else f'{path}[{key}]'
            if sub is None:
                sub = node.addl
            if sub is None or not sub.has_rules:
                continue
            child_old = old.get(key, _MISSING) if correlatable else _MISSING
            _validate_rules(sub, value[key], child_path, errs, warns, child_old, equal_here,
                            known_equal=bool(correlated and equal_here))
    elif isinstance(value, list) and node.items is not None and node.items.has_rules:
        batch = None
        if node.items_program is not None and len(value) > 1:
            try:
                batch = _eval(node.items_program, {'self': value})
            except CelError:
                batch = None  # some item's rule errors: evaluate item by item to report it
        for i, item in enumerate(value):  # only map-type lists correlate items; the Calico CRDs have none
            _validate_rules(node.items, item, f'{path}[{i}]', errs, warns, _MISSING, equal_here,
                            precomputed=batch[i] if batch is not None else None)


# --- admission policies ------------------------------------------------------------------------------------
def _json_pointer_tokens(path: str) -> list[str]:
    if not path.startswith('/'):
        raise CelError(f'invalid JSON pointer {path!r}')
    return [t.replace('~1', '/').replace('~0', '~') for t in path[1:].split('/')]


def _apply_json_patch(obj: dict, ops: list) -> None:
    for op in ops:
        tokens = _json_pointer_tokens(op['path'])
        parent = obj
        for t in tokens[:-1]:
            parent = parent[int(t)] if isinstance(parent, list) else parent[t]
        last = tokens[-1]
        kind = op['op']
        if kind in ('add', 'replace'):
            value = json.loads(json.dumps(op.get('value')))
            if isinstance(parent, list):
                idx = len(parent) if last == '-' else int(last)
                if kind == 'add':
                    parent.insert(idx, value)
                else:
                    parent[idx] = value
            else:
                if kind == 'replace' and last not in parent:
                    raise CelError(f'replace operation does not apply: doc is missing path: {op["path"]}')
                parent[last] = value
        elif kind == 'remove':
            if isinstance(parent, list):
                del parent[int(last)]
            else:
                del parent[last]
        elif kind == 'test':
            current = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            if not strict_equal(current, op.get('value')):
                raise CelError(f'test operation failed for path {op["path"]}')
        else:
            raise CelError(f'unsupported JSON patch op {kind!r}')


def _eval_expression(expression: str, program, activation):
    """One admission-policy expression, its error worded as kube-apiserver words it."""
    try:
        return _eval(program, activation=activation)
    except CelError as exc:
        raise CelError(f"expression '{expression}' resulted in error: {exc}") from None


def _run_mutating_policies(ref: Reference, crd: Crd, obj: dict, old: dict | None, operation: str) -> list[str]:
    """MutatingAdmissionPolicies in dispatch order; returns the policy errors (failurePolicy Fail)."""
    errors: list[str] = []
    activation = None  # one CEL activation per object state (its conversion of `object` is cached)
    for policy in ref.mutating:
        if not policy.applies(operation, crd.plural):
            continue
        prefix = f"policy '{policy.name}' with binding '{policy.binding}' denied request: "
        try:
            matched = True
            for _name, expression, program in policy.match_conditions:
                activation = _activation(obj, old, operation) if activation is None else activation
                if _eval_expression(expression, program, activation) is False:
                    matched = False
                    break
            for expression, program in policy.mutations if matched else ():
                activation = _activation(obj, old, operation) if activation is None else activation
                patch = _eval_expression(expression, program, activation)
                if patch:
                    _apply_json_patch(obj, patch)
                    _default(obj, crd.schema)
                    activation = None
        except CelError as exc:
            if policy.failure_policy != 'Ignore':
                errors.append(prefix + str(exc))
    return errors


def _activation(obj: dict, old: dict | None, operation: str):
    return _env('admission').Activation({'object': obj, 'oldObject': old, 'params': None,
                                         'request': {'operation': operation}})


# --- ObjectMeta ---------------------------------------------------------------------------------------------
def _validate_metadata(obj: dict, errs: list) -> None:
    meta = obj.get('metadata')
    if not isinstance(meta, dict):
        meta = {}
    name = meta.get('name') or ''
    if not name:
        errs.append(_required('metadata.name', 'name or generateName is required'))
    else:
        if len(name) > 253:
            errs.append(_invalid('metadata.name', name, 'must be no more than 253 characters'))
        if not validation.DNS1123_SUBDOMAIN_RE.match(name):
            errs.append(_invalid('metadata.name', name, DNS1123_SUBDOMAIN_MSG))
    labels = meta.get('labels') or {}
    if not isinstance(labels, dict):
        errs.append(_invalid('metadata.labels', labels, 'must be a map of string keys to string values'))
        labels = {}
    for key, value in labels.items():
        err = validation.qualified_name_error(key)
        if err:
            errs.append(_invalid('metadata.labels', key, err))
        err = validation.label_value_error(value) if isinstance(value, str) else 'must be a string'
        if err:
            errs.append(_invalid('metadata.labels', value, err))


def _check_profile(profile) -> None:
    if profile is not None and not getattr(profile, 'crd_mode', False):
        raise ValueError(f'crd_mode is only for v3-CRD mode profiles, not {getattr(profile, "name", profile)!r}')


# --- public interface ---------------------------------------------------------------------------------------------
def admit(kind: str, obj: dict, old: dict | None, profile=None) -> tuple[list[dict], list[str]]:
    """kube-apiserver's handling of a CREATE (old None) or UPDATE of a projectcalico.org/v3 custom resource.

    `obj` is changed in place into what would be stored (pruned, defaulted, mutated by the admission policies).
    Returns (causes, warnings): causes for a 422 Invalid ([] = accepted), warnings for the `Warning` header.
    Raises AdmissionPolicyDenied when a MutatingAdmissionPolicy fails, CrdSchemasMissing without reference data.
    """
    _check_profile(profile)
    ref = load_reference(crd_dir())
    crd = crd_for(kind)
    schema = crd.schema
    operation = 'UPDATE' if old is not None else 'CREATE'
    warnings: list[str] = []

    # 1. decode: prune unknown fields, drop non-nullable nulls, default
    obj.setdefault('apiVersion', API_VERSION)
    obj.setdefault('kind', kind)
    unknown: list[str] = []
    _prune(obj, schema, '', unknown, root=True)
    unknown.sort()
    meta_unknown: list[str] = []
    _prune_metadata(obj, meta_unknown)
    warnings.extend(f'unknown field {_go_quote(p)}' for p in unknown + sorted(meta_unknown))
    _default(obj, schema)

    # 2. mutating admission policies (each followed by defaulting)
    policy_errors = _run_mutating_policies(ref, crd, obj, old, operation)
    if policy_errors:
        name = (obj.get('metadata') or {}).get('name') or ''
        raise AdmissionPolicyDenied(403, policy_errors[0], reason='Invalid', details={
            'name': name, 'group': GROUP, 'kind': crd.plural, 'causes': [{'message': m} for m in policy_errors]})

    # 3. strategy: PrepareForCreate / PrepareForUpdate
    if crd.status_subresource:
        if old is None:
            obj.pop('status', None)
        elif 'status' in old:
            obj['status'] = json.loads(json.dumps(old['status']))
        else:
            obj.pop('status', None)

    # 4. validation
    errs: list[dict] = []
    _validate_metadata(obj, errs)
    set_errs: list[dict] = []
    root_equal = old is not None and strict_equal(obj, old)
    if not root_equal:  # ratcheting: an unchanged object has no schema errors
        _validate(schema, obj, '', errs, set_errs, old if old is not None else _MISSING)
    if set_errs and (old is None or not _set_errors(schema, old)):
        errs.extend(set_errs)
    if any(e['reason'] in BLOCKING for e in errs):
        errs.append(_invalid(ROOT_FIELD, None, NOT_CHECKED))
    else:
        _validate_rules(schema, obj, '', errs, warnings, old if old is not None else _MISSING, None, root=True,
                        known_equal=root_equal)
    return errs, warnings


def admit_delete(kind: str, obj: dict, profile=None) -> list[dict]:
    """ValidatingAdmissionPolicies on DELETE (3.32.1: `protect-builtin-tiers.projectcalico.org`).

    Returns one denial per failed validation: {'field': '', 'reason': 'Invalid', 'message': <the policy's message>,
    'policy': ..., 'binding': ...}; [] allows the delete. See denial_error() for the Status kube-apiserver answers.
    """
    _check_profile(profile)
    if profile is not None and tuple(getattr(profile, 'minor', (3, 32))) == (3, 32) and getattr(profile, 'patch', 1) == 0:
        return []  # the VAP shipped with 3.32.1 (#12982); 3.32.0 has none (SPEC-3.29-3.32 §4.1)
    ref = load_reference(crd_dir())
    crd = crd_for(kind)
    denials = []
    data = {'object': None, 'oldObject': obj, 'params': None, 'request': {'operation': 'DELETE'}}
    for policy in ref.validating:
        if not policy.applies('DELETE', crd.plural):
            continue
        for expression, program, message, message_program, reason in policy.validations:
            try:
                ok = _eval(program, data)
            except CelError as exc:
                ok, message = False, f"expression '{expression}' resulted in error: {exc}"
            if ok is True:
                continue
            text = None
            if message_program is not None:
                try:
                    text = _eval(message_program, data)
                except CelError:
                    text = None
            if not isinstance(text, str) or not text.strip():
                text = message or f'failed expression: {expression}'
            denials.append({'field': '', 'reason': reason or 'Invalid', 'message': text.strip(),
                            'policy': policy.name, 'binding': policy.binding})
    return denials


def denial_error(kind: str, name: str, denials: list[dict]) -> ApiError:
    """The Status of a ValidatingAdmissionPolicy denial: 422 Invalid (for reason Invalid),
    `tiers.projectcalico.org "default" is forbidden: ValidatingAdmissionPolicy '<p>' with binding '<b>' denied
    request: <message>`, one cause carrying that text."""
    crd = crd_for(kind)
    first = denials[0]
    text = (f"ValidatingAdmissionPolicy '{first['policy']}' with binding '{first['binding']}' denied request: "
            f"{first['message']}")
    codes = {'Invalid': 422, 'Forbidden': 403, 'Unauthorized': 401, 'RequestEntityTooLarge': 413}
    reason = first.get('reason') or 'Invalid'
    return ApiError(codes.get(reason, 400), f'{crd.plural}.{GROUP} {_go_quote(name)} is forbidden: {text}',
                    reason=reason, details={'name': name, 'group': GROUP, 'kind': crd.plural,
                                            'causes': [{'message': text}]})
