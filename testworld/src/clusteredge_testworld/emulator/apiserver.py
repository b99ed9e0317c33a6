"""The HTTP face of the emulator: a kmock.KubernetesEmulator subclass that routes every request itself.

kmock 0.8 (pinned) supplies the aiohttp raw-handler plumbing and its reaction DSL; its own CRUD/discovery
falls short of a real apiserver (see README.md beside this file), so `__call__` — the aiohttp entry point —
handles Kubernetes and admin paths here and only defers unknown paths to kmock (user-declared reactions).
"""
from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import time
from typing import Any
from urllib.parse import parse_qsl

import aiohttp.web
import attrs
import kmock
import yaml
from multidict import CIMultiDict

from . import tier_rbac
from .errors import ApiError, already_exists, conflict, status_body, success_status
from .faults import FaultQueue, FaultRule
from .patching import merge_patch
from .profiles import parse_profile
from .rbac import REQUEST_LOG_ENV, Authorizer, append_log, log_line, request_info, split_api_path
from .resources import ResourceType
from .state import ClusterState, WriteHooks
from .tiers import tier_from_name, tier_of

KUBE_VERSION = parse_profile('3.28').kube_version   # /version of the 3.28 profile; see CalicoProfile.kube_version
HEALTH_PATHS = ('/healthz', '/livez', '/readyz')
WRITE_VERBS = ('create', 'update', 'patch', 'delete', 'deletecollection')


@attrs.frozen
class Target:
    """What a resource URL addresses."""
    rtype: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


@attrs.define(kw_only=True)
class KubeApiEmulator(kmock.KubernetesEmulator):
    state: ClusterState
    token: str | None = None
    faults: FaultQueue = attrs.field(factory=FaultQueue)
    recorded: list = attrs.field(factory=list)     # recorded request dicts (see _record)
    server_address: str = ''
    authorizer: Authorizer | None = None           # RBAC mode (see rbac.py); None: every authenticated call is allowed
    request_log: str | None = attrs.field(factory=lambda: os.environ.get(REQUEST_LOG_ENV) or None)

    # --- aiohttp entry point (overrides kmock.RawHandler.__call__) ----------------------------------
    async def __call__(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        body_bytes = await raw.read()
        query = dict(parse_qsl(raw.query_string, keep_blank_values=True))
        record = self._record(raw, query, body_bytes)
        fault = None if raw.path.startswith('/_emulator/') else self.faults.take(raw.method, raw.path)
        if fault is not None and fault.hold > 0:
            await asyncio.sleep(fault.hold)
        try:
            response = self._respond(raw, query, record, fault)
        except ApiError as exc:
            response = _json(exc.status(), exc.code, exc.headers)
        except Exception as exc:  # never leak a traceback: a real apiserver answers a terse InternalError
            response = _json(status_body(500, f'Internal error occurred: {type(exc).__name__}: {exc}'), 500)
        if response is None:  # an injected connection reset
            record['status'] = None
            self._log(raw, record)
            if raw.transport is not None:
                raw.transport.abort()
            return aiohttp.web.Response(status=500)
        if response is NotImplemented:  # not ours: let kmock's reaction DSL answer
            response = await super().__call__(raw)
        record['status'] = response.status
        self._log(raw, record)
        return response

    def _log(self, raw, record: dict) -> None:
        if self.request_log and record['verb'] != 'admin':
            append_log(self.request_log, log_line(record, self._user(raw.headers.get('Authorization'))))

    def _user(self, auth: str | None) -> str | None:
        return self.authorizer.user_of(auth) if self.authorizer is not None else None

    # kmock-internal hook (kmock 0.8 RawHandler._render_error): errors from the kmock fallback chain for paths we
    # do not emulate would otherwise carry kmock's own reason words and a traceback in `details`.
    async def _render_error(self, exc: Exception) -> aiohttp.web.StreamResponse:
        code = getattr(exc, 'status', 500) if isinstance(exc, kmock.KubernetesError) else 500
        message = 'the server could not find the requested resource' if code == 404 else \
            f'Internal error occurred: {type(exc).__name__}'
        return _json(status_body(code, message), code)

    def _record(self, raw, query: dict, body_bytes: bytes) -> dict:
        headers = dict(raw.headers)
        auth = headers.get('Authorization')
        if auth is not None:
            headers['Authorization'] = '<present>'
        body: Any = None
        if body_bytes:
            try:
                body = json.loads(body_bytes)
            except ValueError:
                try:
                    body = yaml.safe_load(body_bytes)
                except yaml.YAMLError:
                    body = None
        record = {
            'method': raw.method, 'path': raw.path, 'query': query, 'status': None, 'body': body,
            'headers': headers, 'dry_run': query.get('dryRun') == 'All',
            'authorized': (self.token is None and self.authorizer is None) or auth == f'Bearer {self.token}'
            or self._user(auth) is not None,
            'time': time.time(),
        }
        record.update(self._classify(raw.method, raw.path))
        record['rbac'] = request_info(raw.method, raw.path, query)  # what RBAC sees, served or not
        record['tier_checks'] = []    # Calico tiered-RBAC checks made (tier_rbac.py)
        record['tier_filter'] = False
        self.recorded.append(record)
        return record

    def _classify(self, method: str, path: str) -> dict:
        info: dict = {'verb': 'other', 'group': None, 'version': None, 'resource': None, 'namespace': None,
                      'name': None, 'subresource': None}
        if path.startswith('/_emulator/'):
            info['verb'] = 'admin'
            return info
        if _is_discovery(path) or path in HEALTH_PATHS or path.startswith('/openapi'):
            info['verb'] = 'discovery'
            return info
        try:
            target = self._parse_target(path)
        except ApiError:
            return info
        if target is None:
            return info
        info.update(group=target.rtype.group, version=target.rtype.version, resource=target.rtype.plural,
                    namespace=target.namespace, name=target.name, subresource=target.subresource)
        if method == 'GET':
            info['verb'] = 'get' if target.name else 'list'
        else:
            info['verb'] = {'POST': 'create', 'PUT': 'update', 'PATCH': 'patch',
                            'DELETE': 'delete' if target.name else 'deletecollection'}.get(method, 'other')
        return info

    # --- routing ------------------------------------------------------------------------------------
    def _respond(self, raw, query: dict, record: dict, fault: FaultRule | None):
        if raw.path.startswith('/_emulator/'):
            return self._admin(raw.method, raw.path, query, record['body'])
        if fault is None or (fault.status is None and not fault.reset):
            return self._serve(raw, query, record)
        if fault.after:
            try:
                self._serve(raw, query, record)
            except ApiError:
                pass  # the request itself failed; the client sees the fault either way
        elif fault.another_writer:
            self._another_writer(raw.method, raw.path, record['body'], fault.mutate)
        return _fault_response(fault)

    def _another_writer(self, method: str, path: str, body: Any, mutate: dict | None):
        """What a concurrent writer does before our request arrives: raises the 409 a real server then answers."""
        target = self._parse_target(path)
        if target is None:
            return
        if method == 'POST':
            if isinstance(body, dict):
                try:
                    self.state.create(target.rtype, target.namespace, body)
                except ApiError:
                    pass
                raise already_exists(target.rtype, (body.get('metadata') or {}).get('name', ''))
            return
        if target.name is None:
            return
        with self.state.lock:
            key = self.state.storage_key(target.rtype, target.namespace, target.name)
            stored = self.state.objects.get(key)
            if stored is None:
                return
            changed = merge_patch(copy.deepcopy(stored), mutate) if mutate else copy.deepcopy(stored)
            changed['metadata']['resourceVersion'] = self.state.next_rv()
            self.state.objects[key] = changed
        raise conflict(target.rtype, target.name)

    def _serve(self, raw, query: dict, record: dict):
        path, method = raw.path, raw.method
        if path in HEALTH_PATHS:
            return aiohttp.web.Response(text='ok', status=200)
        if not record['authorized']:
            raise ApiError(401, 'Unauthorized')
        if self.authorizer is not None:
            self.authorizer.check(raw.headers.get('Authorization'), record)
        if method == 'GET' and _is_discovery(path):
            return _json(self._discovery(path), 200)
        target = self._parse_target(path)
        if target is None:
            return NotImplemented
        return self._resource(method, target, query, record, raw.headers.get('Content-Type', ''),
                              raw.headers.get('Authorization'))

    def _parse_target(self, path: str) -> Target | None:
        split = split_api_path(path)
        if split is None:
            return None
        group, version, rest = split
        lookup = self.state.registry.lookup
        namespace = None
        if len(rest) >= 3 and rest[0] == 'namespaces':
            rtype = lookup(group, version, rest[2])
            if rtype is not None and rtype.namespaced:
                namespace, rest = rest[1], rest[2:]
        rtype = lookup(group, version, rest[0])
        if rtype is None or len(rest) > 3:
            if not any(r.group == group and r.version == version for r in self.state.registry.resources):
                return None  # a group/version we do not serve at all
            raise ApiError(404, 'the server could not find the requested resource')
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and sub not in rtype.subresources:
            raise ApiError(404, 'the server could not find the requested resource')
        return Target(rtype, namespace, name, sub)

    def _resource(self, method: str, t: Target, query: dict, record: dict, content_type: str,
                  authorization: str | None = None):
        dry = query.get('dryRun')
        if dry not in (None, 'All'):
            raise ApiError(400, f'Invalid dry run value: {dry!r} (supported: All)')
        dry_run = dry == 'All'
        body = record['body']
        state = self.state
        hooks = WriteHooks()
        gate = self._tier_gate(t, record, authorization, hooks)
        named_check = gate is not None and state.profile.tier_rbac_on_reads and t.subresource is None
        verb = (record.get('rbac') or {}).get('verb') or ''
        if method == 'GET':
            item_filter = None
            if named_check and t.name is None:
                record['tier_filter'] = True
                item_filter = gate.list_filter(verb, query, state.tier_names())
            elif named_check:
                self._authorize_named(gate, verb, t)
            if query.get('watch') in ('true', '1'):
                return self._watch(t, query, item_filter)
            if t.name is None:
                return _json(state.list(t.rtype, t.namespace, query, item_filter), 200)
            return _json(state.get(t.rtype, t.namespace, t.name), 200)
        if method == 'POST':
            if t.name is not None:
                raise ApiError(405, f'POST is not supported on a named {t.rtype.kind}')
            return _json(state.create(t.rtype, t.namespace, body, dry_run, hooks=hooks), 201, _warned(hooks))
        if method == 'PUT':
            if t.name is None:
                raise ApiError(405, 'PUT requires a name')
            if named_check and not state.profile.tier_from_spec:
                self._authorize_named(gate, verb, t)
            obj = state.replace(t.rtype, t.namespace, t.name, body, dry_run, t.subresource, hooks=hooks)
            return _json(obj, 200, _warned(hooks))
        if method == 'PATCH':
            if t.name is None:
                raise ApiError(405, 'PATCH requires a name')
            if named_check and not state.profile.tier_from_spec:
                self._authorize_named(gate, verb, t)
            code, obj = state.patch(t.rtype, t.namespace, t.name, body, content_type, dry_run, t.subresource,
                                    query.get('fieldManager'), hooks=hooks)
            return _json(obj, code, _warned(hooks))
        if method == 'DELETE':
            if t.name is None:
                item_filter = None
                if gate is not None and state.profile.tier_rbac_on_deletecollection:
                    record['tier_filter'] = True
                    item_filter = gate.list_filter(verb, query, state.tier_names())
                hooks.api_check = None   # the generic DeleteCollection deletes without the per-object tier check
                return _json(state.delete_collection(t.rtype, t.namespace, query, dry_run, hooks, item_filter), 200)
            if named_check and not state.profile.tier_from_spec:
                self._authorize_named(gate, verb, t)
            options = body if isinstance(body, dict) else {}
            return _json(state.delete(t.rtype, t.namespace, t.name, options, dry_run, hooks=hooks), 200)
        raise ApiError(405, f'{method} is not supported')

    # --- Calico tiered RBAC (SPEC-3.29-3.32 §5) -----------------------------------------------------
    def _tier_gate(self, t: Target, record: dict, authorization: str | None,
                   hooks: WriteHooks) -> tier_rbac.TierGate | None:
        """The request's tier checks, and the write hooks that run them at Calico's points: the API server's REST
        layer (create always; update/delete on 3.32, where the tier comes from the stored object) or the v3-CRD
        webhook (create/update/delete)."""
        profile = self.state.profile
        if not tier_rbac.gated(profile, t.rtype):
            return None
        restricted = self.authorizer.decider(authorization) if self.authorizer is not None else None
        user, decide = restricted if restricted is not None else ('', tier_rbac.allow_all)
        gate = tier_rbac.TierGate(t.rtype, t.namespace, user, decide, record['tier_checks'])
        verb = (record.get('rbac') or {}).get('verb') or ''
        if profile.crd_mode:
            def webhook(operation: str, new: dict | None, old: dict | None) -> None:
                obj = new if new is not None else old
                name = obj['metadata'].get('name') or ''
                if t.rtype.kind == 'StagedKubernetesNetworkPolicy':   # no tier field: the default tier
                    gate.admit(operation, name, 'default')
                    return
                tier = tier_of(obj)
                moved = operation == 'update' and old is not None and tier_of(old) != tier
                gate.admit(operation, name, tier, tier_of(old) if moved else None)
            hooks.webhook = webhook
        elif t.subresource is None:
            def api_check(operation: str, new: dict | None, old: dict | None) -> None:
                if operation == 'create':
                    if record['method'] != 'POST' and not profile.tier_from_spec:
                        return   # a server-side-apply create: already checked by name like any PATCH
                    name = (new or {}).get('metadata', {}).get('name') or ''
                    tier = tier_of(new or {}) if profile.tier_from_spec else tier_from_name(name)
                    gate.authorize(verb, t.name or '', name, tier)   # a POST carries no name in its attributes
                elif profile.tier_from_spec and old is not None:
                    gate.authorize(verb, t.name or '', t.name or '', tier_of(old))
                    if new is not None and tier_of(new) != tier_of(old):
                        gate.authorize(verb, t.name or '', t.name or '', tier_of(new))
            hooks.api_check = api_check
        return gate

    def _authorize_named(self, gate: tier_rbac.TierGate, verb: str, t: Target) -> None:
        """get/update/patch/delete of a named policy: tier from the name (3.29-3.31, before any lookup) or from the
        stored object (3.32: a missing policy is a 404 first)."""
        if self.state.profile.tier_from_spec:
            stored = self.state.peek(t.rtype, t.namespace, t.name)
            if stored is None:
                return
            tier = tier_of(stored)
        else:
            tier = tier_from_name(t.name)
        gate.authorize(verb, t.name, t.name, tier)

    def _watch(self, t: Target, query: dict, item_filter=None):
        """Minimal watch: the current objects as ADDED events, then the stream ends (as on a timeout)."""
        listing = self.state.list(t.rtype, t.namespace, query, item_filter) if t.name is None else {
            'items': [self.state.get(t.rtype, t.namespace, t.name)]}
        lines = ''.join(json.dumps({'type': 'ADDED', 'object': o}) + '\n' for o in listing['items'])
        return aiohttp.web.Response(text=lines, status=200, content_type='application/json')

    # --- discovery ----------------------------------------------------------------------------------
    def _discovery(self, path: str) -> dict:
        reg = self.state.registry
        if path == '/version':
            return self.state.profile.kube_version
        if path == '/api':
            return {'kind': 'APIVersions', 'versions': ['v1'],
                    'serverAddressByClientCIDRs': [{'clientCIDR': '0.0.0.0/0', 'serverAddress': self.server_address}]}
        if path == '/apis':
            return {'kind': 'APIGroupList', 'apiVersion': 'v1',
                    'groups': [_api_group(g, vs) for g, vs in reg.group_versions().items()]}
        parts = [p for p in path.split('/') if p]
        if parts[0] == 'api':
            group, version = '', parts[1]
        elif len(parts) == 2:
            versions = reg.group_versions().get(parts[1])
            if not versions:
                raise ApiError(404, 'the server could not find the requested resource')
            return _api_group(parts[1], versions) | {'kind': 'APIGroup', 'apiVersion': 'v1'}
        else:
            group, version = parts[1], parts[2]
        types = reg.in_group_version(group, version)
        if not types:
            raise ApiError(404, 'the server could not find the requested resource')
        resources = []
        for r in types:
            entry = {'name': r.plural, 'singularName': r.singular, 'namespaced': r.namespaced, 'kind': r.kind,
                     'verbs': list(r.verbs)}
            if r.short_names:
                entry['shortNames'] = list(r.short_names)
            resources.append(entry)
            for sub in r.subresources:
                verbs = ['get', 'patch', 'update'] if sub == 'status' else ['update']
                resources.append({'name': f'{r.plural}/{sub}', 'singularName': '', 'namespaced': r.namespaced,
                                  'kind': r.kind, 'verbs': verbs})
        return {'kind': 'APIResourceList', 'apiVersion': 'v1', 'groupVersion': f'{group}/{version}'.lstrip('/'),
                'resources': resources}

    # --- admin endpoints (for other processes) -----------------------------------------------------
    def _admin(self, method: str, path: str, query: dict, body: Any):
        state = self.state
        try:
            if path == '/_emulator/healthz':
                return _json(self.health(), 200)
            if path == '/_emulator/upgrade' and method == 'POST':
                if not isinstance(body, dict) or not body.get('profile'):
                    raise ValueError('expected {"profile": "<Calico profile>"}')
                state.upgrade(body['profile'])
                return _json(self.health(), 200)
            if path == '/_emulator/requests':
                if method == 'GET':
                    items = [r for r in list(self.recorded) if r['verb'] != 'admin' or query.get('admin')]
                    if query.get('writes'):
                        items = [r for r in items if r['verb'] in WRITE_VERBS]
                    return _json(items, 200)
                if method == 'DELETE':
                    self.recorded.clear()
                    return _json(success_status(), 200)
            if path == '/_emulator/faults':
                if method == 'POST':
                    rules = body if isinstance(body, list) else [body]
                    added = [self.faults.add(FaultRule.from_dict(r)).to_dict() for r in rules]
                    return _json(added, 200)
                if method == 'GET':
                    return _json([r.to_dict() for r in self.faults.pending()], 200)
                if method == 'DELETE':
                    self.faults.clear()
                    return _json(success_status(), 200)
            if path == '/_emulator/objects':
                if method == 'POST':
                    return _json(state.seed(body if isinstance(body, list) else [body]), 200)
                if method == 'GET':
                    return _json(state.find_objects(query.get('kind') or None, query.get('apiVersion') or None,
                                                    query.get('namespace') or None), 200)
            if path == '/_emulator/reset' and method == 'POST':
                state.reset()
                self.faults.clear()
                self.recorded.clear()
                return _json(success_status(), 200)
        except (ValueError, TypeError) as exc:
            raise ApiError(400, f'bad admin request: {exc}') from None
        raise ApiError(404, f'no admin endpoint {method} {path}')

    def health(self) -> dict:
        """/_emulator/healthz: liveness plus the Calico profile served."""
        profile = self.state.profile
        return {'ok': True, 'calico_api': self.state.calico_api, 'profile': profile.name, 'profile_key': profile.key,
                'calico_version': profile.calico_version, 'crd_mode': profile.crd_mode}


def _warned(hooks: WriteHooks) -> CIMultiDict | None:
    """Admission warnings as kube-apiserver sends them: one `Warning: 299 - "<text>"` header each."""
    if not hooks.warnings:
        return None
    return CIMultiDict(('Warning', '299 - "{}"'.format(w.replace('"', '\\"'))) for w in hooks.warnings)


def _is_discovery(path: str) -> bool:
    return path in ('/version', '/api', '/apis') or re.fullmatch(r'/api/[^/]+|/apis/[^/]+(/[^/]+)?', path) is not None


def _api_group(group: str, versions: list[str]) -> dict:
    return {'name': group,
            'versions': [{'groupVersion': f'{group}/{v}', 'version': v} for v in versions],
            'preferredVersion': {'groupVersion': f'{group}/{versions[0]}', 'version': versions[0]}}


def _json(data: Any, status: int, headers: 'dict | CIMultiDict | None' = None) -> aiohttp.web.Response:
    # Always an explicit status: kmock's reactions would otherwise keep a previous one.
    return aiohttp.web.Response(text=json.dumps(data), status=status, content_type='application/json',
                                headers=headers)


def _fault_response(rule: FaultRule):
    if rule.reset:
        return None
    headers = {'Retry-After': str(rule.retry_after)} if rule.retry_after is not None else None
    default_messages = {409: 'Operation cannot be fulfilled: the object has been modified; please apply your '
                             'changes to the latest version and try again',
                        429: 'Too many requests, please try again later.',
                        500: 'Internal error occurred: injected fault',
                        503: 'the server is currently unable to handle the request'}
    message = rule.message or default_messages.get(rule.status, f'injected fault {rule.status}')
    details = {'retryAfterSeconds': rule.retry_after} if rule.retry_after is not None else None
    return _json(status_body(rule.status, message, details=details), rule.status, headers)
