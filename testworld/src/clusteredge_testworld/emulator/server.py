"""EmulatorServer: runs the emulated kube-apiserver (+ Calico API server) on 127.0.0.1 in a background thread."""
from __future__ import annotations

import asyncio
import os
import threading
from typing import Any, Iterable

import aiohttp.web

from .apiserver import WRITE_VERBS, KubeApiEmulator
from .faults import FaultRule
from .profiles import CalicoProfile
from .rbac import Authorizer
from .state import ClusterState
from .tls import TLSFiles, generate_tls_files

DEFAULT_SERVICE_CIDRS = ('10.96.0.0/12',)


class EmulatorServer:
    def __init__(self, port: int = 0, token: str | None = None, tls_dir: str | None = None,
                 calico_api: bool = True, service_cidrs: tuple[str, ...] = DEFAULT_SERVICE_CIDRS,
                 host: str = '127.0.0.1', bootstrap: bool = True, rbac: Authorizer | dict | None = None,
                 profile: 'str | CalicoProfile | None' = None):
        """`rbac`: RBAC mode, {bearer token: {'user': ..., 'rules': [ClusterRole rules]}} (see rbac.py); `token`
        then stays an unrestricted (admin) token. `profile`: the Calico profile ('3.28' ... '3.32', '3.32-crd',
        optionally with a patch level; default $EMULATOR_CALICO_PROFILE, else '3.28'; see profiles.py)."""
        self.host = host
        self.port = port
        self.token = token
        self.tls_dir = tls_dir
        self.state = ClusterState(calico_api=calico_api, service_cidrs=tuple(service_cidrs), bootstrap=bootstrap,
                                  profile=profile)
        authorizer = rbac if isinstance(rbac, Authorizer) or rbac is None else Authorizer(rbac)
        self.handler = KubeApiEmulator(state=self.state, token=token, authorizer=authorizer)
        self.tls: TLSFiles | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: aiohttp.web.BaseRunner | None = None

    # --- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> 'EmulatorServer':
        if self._thread is not None:
            raise RuntimeError('already started')
        ssl_context = None
        if self.tls_dir:
            self.tls = generate_tls_files(self.tls_dir)
            ssl_context = self.tls.server_context()
        ready = threading.Event()
        failure: list[BaseException] = []

        async def serve():
            await self.handler.__aenter__()  # kmock handlers must be entered before serving
            self._runner = aiohttp.web.ServerRunner(aiohttp.web.Server(self.handler), handle_signals=False,
                                                    access_log=None)
            await self._runner.setup()
            site = aiohttp.web.TCPSite(self._runner, self.host, self.port, ssl_context=ssl_context)
            await site.start()
            self.port = self._runner.addresses[0][1]
            self.handler.server_address = f'{self.host}:{self.port}'

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(serve())
            except BaseException as exc:  # report start-up failures to the caller
                failure.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._shutdown())
            self._loop.close()

        self._thread = threading.Thread(target=run, name=f'k8s-emulator-{id(self)}', daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            self._thread = None
            raise failure[0]
        return self

    async def _shutdown(self):
        if self._runner is not None:
            await self._runner.cleanup()
        await self.handler.__aexit__(None, None, None)

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._thread = None

    def __enter__(self) -> 'EmulatorServer':
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # --- connection details -------------------------------------------------------------------------
    @property
    def scheme(self) -> str:
        return 'https' if self.tls_dir else 'http'

    @property
    def url(self) -> str:
        return f'{self.scheme}://{self.host}:{self.port}'

    @property
    def ca_cert_path(self) -> str | None:
        return self.tls.ca_cert_path if self.tls else None

    def client_configuration(self):
        """A kubernetes.client.Configuration pointing at this server (imported lazily)."""
        import kubernetes.client
        cfg = kubernetes.client.Configuration()
        cfg.host = self.url
        if self.token:
            cfg.api_key = {'authorization': f'Bearer {self.token}'}
        if self.tls:
            cfg.ssl_ca_cert = self.tls.ca_cert_path
            cfg.verify_ssl = True
        return cfg

    def api_client(self):
        import kubernetes.client
        return kubernetes.client.ApiClient(self.client_configuration())

    def write_kubeconfig(self, path: str, context: str = 'emulator') -> str:
        import yaml
        cluster: dict[str, Any] = {'server': self.url}
        if self.tls:
            cluster['certificate-authority'] = self.tls.ca_cert_path
        user = {'token': self.token} if self.token else {}
        doc = {'apiVersion': 'v1', 'kind': 'Config', 'current-context': context,
               'clusters': [{'name': context, 'cluster': cluster}],
               'users': [{'name': context, 'user': user}],
               'contexts': [{'name': context, 'context': {'cluster': context, 'user': context}}]}
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, 'w') as fh:
            yaml.safe_dump(doc, fh)
        return path

    # --- Calico profile -----------------------------------------------------------------------------
    @property
    def profile(self) -> CalicoProfile:
        return self.state.profile

    def upgrade(self, profile: 'str | CalicoProfile') -> CalicoProfile:
        """An in-place Calico upgrade keeping stored objects (see ClusterState.upgrade)."""
        return self.state.upgrade(profile)

    # --- observation and control --------------------------------------------------------------------
    @property
    def requests(self) -> list[dict]:
        return list(self.handler.recorded)

    def clear_requests(self) -> None:
        self.handler.recorded.clear()

    def writes(self) -> list[dict]:
        """Recorded create/update/patch/delete requests to resource paths (dry-run included; see 'dry_run')."""
        return [r for r in self.handler.recorded if r['verb'] in WRITE_VERBS]

    def inject_fault(self, method: str = '*', path: str = '.*', status: int | None = 500, times: int = 1,
                     retry_after: int | None = None, reset: bool = False, message: str | None = None,
                     **options) -> FaultRule:
        """`options`: skip, hold, after, another_writer, mutate (see FaultRule)."""
        return self.handler.faults.add(FaultRule(method=method, path=path, status=status, times=times,
                                                 retry_after=retry_after, reset=reset, message=message, **options))

    def clear_faults(self) -> None:
        self.handler.faults.clear()

    def seed(self, objs: Iterable[dict]) -> list[dict]:
        return self.state.seed(list(objs))

    def objects(self, kind: str | None = None, api_version: str | None = None,
                namespace: str | None = None, raw: bool = False) -> list[dict]:
        """Objects as reads return them (`raw=True`: as stored, without server-filled fields)."""
        return self.state.find_objects(kind, api_version, namespace, raw=raw)

    def reset(self) -> None:
        """Back to the bootstrap objects; also drops faults and recorded requests."""
        self.state.reset()
        self.clear_faults()
        self.clear_requests()
