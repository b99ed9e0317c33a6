"""Stdlib-only client for the emulator's /_emulator/ control endpoints (usable from any process).

    from clusteredge_testworld.emulator.admin import AdminClient
    admin = AdminClient('http://127.0.0.1:8443')          # or AdminClient.from_state_file(path)
    admin.seed([{...manifest...}]); admin.inject_fault(method='PATCH', path='hostendpoints', status=409)
    assert not [r for r in admin.writes() if not r['dry_run']]
"""
from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

WRITE_VERBS = ('create', 'update', 'patch', 'delete', 'deletecollection')


class AdminClient:
    def __init__(self, url: str, ca_cert_path: str | None = None, timeout: float = 10.0):
        self.url = url.rstrip('/')
        self.timeout = timeout
        self._ssl = ssl.create_default_context(cafile=ca_cert_path) if url.startswith('https') else None

    @classmethod
    def from_state_file(cls, path: str) -> 'AdminClient':
        with open(path) as fh:
            state = json.load(fh)
        return cls(state['url'], state.get('ca_cert_path'))

    def _call(self, method: str, path: str, body: Any = None, query: dict | None = None) -> Any:
        url = f'{self.url}/_emulator/{path}'
        if query:
            url += '?' + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self._ssl) as resp:
                return json.loads(resp.read() or b'null')
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f'emulator admin {method} {path} failed: {exc.code} {exc.read().decode()}') from None

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._call('GET', 'healthz')
                return
            except (OSError, RuntimeError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def requests(self, include_admin: bool = False) -> list[dict]:
        return self._call('GET', 'requests', query={'admin': '1' if include_admin else None})

    def writes(self) -> list[dict]:
        return self._call('GET', 'requests', query={'writes': '1'})

    def clear_requests(self) -> None:
        self._call('DELETE', 'requests')

    def inject_fault(self, method: str = '*', path: str = '.*', status: int | None = 500, times: int = 1,
                     retry_after: int | None = None, reset: bool = False, message: str | None = None,
                     **options) -> dict:
        """`options`: skip, hold, after, another_writer, mutate (see emulator.faults.FaultRule)."""
        rule = {'method': method, 'path': path, 'status': status, 'times': times, 'retry_after': retry_after,
                'reset': reset, 'message': message, **options}
        return self._call('POST', 'faults', rule)[0]

    def faults(self) -> list[dict]:
        return self._call('GET', 'faults')

    def clear_faults(self) -> None:
        self._call('DELETE', 'faults')

    def seed(self, manifests: list[dict]) -> list[dict]:
        return self._call('POST', 'objects', list(manifests))

    def objects(self, kind: str | None = None, api_version: str | None = None,
                namespace: str | None = None) -> list[dict]:
        return self._call('GET', 'objects', query={'kind': kind, 'apiVersion': api_version, 'namespace': namespace})

    def reset(self) -> None:
        self._call('POST', 'reset')

    def healthz(self) -> dict:
        """{ok, calico_api, profile ('3.29.7'), profile_key ('3.29'), calico_version, crd_mode}."""
        return self._call('GET', 'healthz')

    def upgrade(self, profile: str) -> dict:
        """An in-place Calico upgrade of the running emulator to `profile` (objects kept); returns healthz."""
        return self._call('POST', 'upgrade', {'profile': profile})


def upgrade(url: str, profile: str, ca_cert_path: str | None = None) -> dict:
    """Upgrade the emulator at `url` to the Calico `profile` (see AdminClient.upgrade)."""
    return AdminClient(url, ca_cert_path).upgrade(profile)
