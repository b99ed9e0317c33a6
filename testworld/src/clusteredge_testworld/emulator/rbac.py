"""Optional RBAC authorization (as kube-apiserver's RBAC authorizer decides) and the suite-wide request log.

Authorization: `EmulatorServer(rbac={token: {'user': ..., 'rules': [PolicyRule, ...]}})` — each bearer token is a
user holding the given ClusterRole `rules` (apiGroups, resources, verbs, optional resourceNames). Requests are
mapped to RBAC verbs as kube-apiserver does (GET item=get, GET collection=list, ?watch=watch, POST=create,
PUT=update, PATCH=patch, DELETE item=delete, DELETE collection=deletecollection; dryRun needs the same verb).
Discovery, /version, /openapi and health paths are always allowed (system:discovery); /_emulator admin paths are
outside RBAC. A request no rule allows gets the real 403 Forbidden Status.

Request log: with EMULATOR_REQUEST_LOG=/path/file.jsonl in the environment, every server (in-process or
`python -m clusteredge_testworld.emulator serve`, which inherits the variable) appends one JSON line per API request it served.
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import os
from typing import Any, Iterable, Mapping

from .errors import ApiError

REQUEST_LOG_ENV = 'EMULATOR_REQUEST_LOG'
ALWAYS_ALLOWED = ('discovery',)  # classified by apiserver._classify: discovery, /version, /openapi, health


@dataclasses.dataclass(frozen=True)
class PolicyRule:
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, rule: Mapping[str, Any]) -> 'PolicyRule':
        unknown = set(rule) - {'apiGroups', 'resources', 'verbs', 'resourceNames'}
        if unknown:
            raise ValueError(f'unsupported PolicyRule fields: {sorted(unknown)}')
        return cls(tuple(rule.get('apiGroups') or ()), tuple(rule.get('resources') or ()),
                   tuple(rule.get('verbs') or ()), tuple(rule.get('resourceNames') or ()))

    def allows(self, verb: str, group: str, resource: str, subresource: str | None, name: str | None) -> bool:
        """kube-apiserver's RuleAllows: verb, group, resource (with `*` and `res/sub` forms) and resourceNames."""
        if not ('*' in self.verbs or verb in self.verbs):
            return False
        if not ('*' in self.api_groups or group in self.api_groups):
            return False
        combined = f'{resource}/{subresource}' if subresource else resource
        if not any(r in ('*', combined) or (subresource and r == f'*/{subresource}') for r in self.resources):
            return False
        return not self.resource_names or name in self.resource_names


@dataclasses.dataclass(frozen=True)
class Grant:
    user: str
    rules: tuple[PolicyRule, ...]


def rules_from(rules: Iterable[PolicyRule | Mapping[str, Any]]) -> tuple[PolicyRule, ...]:
    return tuple(r if isinstance(r, PolicyRule) else PolicyRule.from_dict(r) for r in rules)


def rbac_verb(method: str, name: str | None, query: Mapping[str, str]) -> str | None:
    """The RBAC verb of a resource request (None for methods RBAC does not know)."""
    if method == 'GET':
        if query.get('watch') in ('true', '1'):
            return 'watch'
        return 'get' if name else 'list'
    if method == 'DELETE':
        return 'delete' if name else 'deletecollection'
    return {'POST': 'create', 'PUT': 'update', 'PATCH': 'patch'}.get(method)


def split_api_path(path: str) -> tuple[str, str, list[str]] | None:
    """(group, version, the segments after them) of /api/<v>/... or /apis/<group>/<v>/...; None for other paths."""
    parts = [p for p in path.split('/') if p]
    if len(parts) >= 3 and parts[0] == 'api':
        return '', parts[1], parts[2:]
    if len(parts) >= 4 and parts[0] == 'apis':
        return parts[1], parts[2], parts[3:]
    return None


def request_info(method: str, path: str, query: Mapping[str, str]) -> dict | None:
    """kube-apiserver's RequestInfo for a resource URL (from the path alone, served or not); None otherwise."""
    split = split_api_path(path)
    if split is None:
        return None
    group, version, rest = split
    namespace = None
    if rest[0] == 'namespaces' and len(rest) > 2:
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    name = rest[1] if len(rest) > 1 else None
    return {'verb': rbac_verb(method, name, query), 'api_group': group, 'api_version': version, 'resource': rest[0],
            'subresource': rest[2] if len(rest) > 2 else None, 'namespace': namespace, 'name': name}


def forbidden_message(user: str, verb: str, group: str | None, resource: str | None, subresource: str | None,
                      namespace: str | None, name: str | None, path: str) -> str:
    """kube-apiserver's wording (NewForbidden + the RBAC authorizer's reason)."""
    if resource is None:
        return f'forbidden: User "{user}" cannot {verb} path "{path}"'
    qualified = f'{resource}.{group}' if group else resource
    subject = f'{qualified} "{name}"' if name else qualified
    combined = f'{resource}/{subresource}' if subresource else resource
    scope = f'in the namespace "{namespace}"' if namespace else 'at the cluster scope'
    return f'{subject} is forbidden: User "{user}" cannot {verb} resource "{combined}" in API group "{group or ""}" {scope}'


class Authorizer:
    """Bearer token -> Grant; `check(...)` raises the 403 a real server sends, or returns None when allowed."""

    def __init__(self, grants: Mapping[str, Grant | Mapping[str, Any]]):
        self.grants: dict[str, Grant] = {}
        for token, grant in grants.items():
            if not isinstance(grant, Grant):
                grant = Grant(user=grant.get('user') or f'system:serviceaccount:default:{token[:8]}',
                              rules=rules_from(grant.get('rules') or ()))
            self.grants[token] = grant

    @classmethod
    def from_file(cls, path: str) -> 'Authorizer':
        """YAML/JSON: {token: {user: ..., rules: [PolicyRule, ...]}}."""
        import yaml
        with open(path) as fh:
            return cls(yaml.safe_load(fh) or {})

    def user_of(self, authorization: str | None) -> str | None:
        if authorization and authorization.startswith('Bearer '):
            grant = self.grants.get(authorization[len('Bearer '):])
            return grant.user if grant else None
        return None

    def decider(self, authorization: str | None) -> tuple[str, Any] | None:
        """(user, decide(verb, group, resource, name)) for a restricted caller; None for an unrestricted one. Used
        for the extra SubjectAccess-like checks Calico's tiered RBAC makes (tier_rbac.py)."""
        if not authorization or not authorization.startswith('Bearer '):
            return None
        grant = self.grants.get(authorization[len('Bearer '):])
        if grant is None:
            return None

        def decide(verb: str, group: str, resource: str, name: str | None) -> bool:
            return any(rule.allows(verb, group, resource, None, name) for rule in grant.rules)
        return grant.user, decide

    def check(self, authorization: str | None, record: Mapping[str, Any]) -> None:
        """`record` is an apiserver request record (classified); a caller outside `grants` is an admin."""
        if not authorization or not authorization.startswith('Bearer '):
            return
        grant = self.grants.get(authorization[len('Bearer '):])
        if grant is None or record['verb'] in ALWAYS_ALLOWED or record['verb'] == 'admin':
            return
        info = record.get('rbac')
        if info is None:  # a non-resource URL that is not discovery: RBAC's nonResourceURLs, never granted here
            raise ApiError(403, forbidden_message(grant.user, record['method'].lower(), None, None, None, None, None,
                                                  record['path']))
        if any(rule.allows(info['verb'], info['api_group'], info['resource'], info['subresource'], info['name'])
               for rule in grant.rules):
            return
        message = forbidden_message(grant.user, info['verb'], info['api_group'], info['resource'], info['subresource'],
                                    info['namespace'], info['name'], record['path'])
        raise ApiError(403, message, details={'name': info['name'], 'group': info['api_group'], 'kind': info['resource']})


def log_line(record: Mapping[str, Any], user: str | None) -> dict:
    """What the request log keeps of a request: never headers or bodies (no credentials, no object data)."""
    info = record.get('rbac') or {'verb': record['verb'], 'api_group': None, 'api_version': None, 'resource': None,
                                  'subresource': None, 'namespace': None, 'name': None}
    return dict(info, **{
        # Calico tiered RBAC (tier_rbac.py): the SubjectAccess-like checks made, for replay against any ClusterRole.
        'tier_checks': list(record.get('tier_checks') or ()), 'tier_filter': bool(record.get('tier_filter')),
        'method': record['method'], 'path': record['path'], 'discovery': record['verb'] == 'discovery',
        'dry_run': record['dry_run'], 'status': record['status'], 'user': user,
        'user_agent': record['headers'].get('User-Agent', ''), 'time': record['time'], 'server_pid': os.getpid(),
        # Set by pytest in its own process (and inherited by emulator subprocesses): which test caused the request.
        'test': os.environ.get('PYTEST_CURRENT_TEST', '').rsplit(' (', 1)[0],
    })


def append_log(path: str, line: dict) -> None:
    """One JSON line per request; O_APPEND plus an exclusive lock keep lines whole across threads and processes."""
    data = (json.dumps(line, sort_keys=True) + '\n').encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, data)
    finally:
        os.close(fd)  # also releases the lock


def read_log(path: str) -> list[dict]:
    if not os.path.exists(path):
        return []
    with open(path, encoding='utf-8') as fh:
        return [json.loads(line) for line in fh if line.strip()]
