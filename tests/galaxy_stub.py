"""A Galaxy (API v3) that serves a few collection tarballs on loopback, so that a test can run
`ansible-galaxy collection install clusteredge.calico` exactly as a user types it (Galaxy itself is unreachable here).

It answers only what ansible-galaxy asks while installing: the API root, a collection, its versions, one version's
metadata (download URL, sha256, dependencies) and the download.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

#: kubernetes.core as scripts/bootstrap.sh installs it (from the `ansible` wheel), served as the collection's dependency
KUBERNETES_CORE = Path(__file__).resolve().parents[1] / ".build" / "collections" / "ansible_collections" / "kubernetes" / "core"


def user_env(home, path_first, **extra):
    """The environment of a user's shell: this one without any Ansible, Kubernetes, molecule or venv setting of the
    developer's, HOME at `home` and `path_first` (a bin directory) first on PATH."""
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith(("ANSIBLE_", "K8S_AUTH_", "KUBECONFIG", "PYTHONPATH", "MOLECULE_", "VIRTUAL_ENV")))
    env.update(HOME=str(home), PATH=os.pathsep.join([str(path_first), env.get("PATH", "")]), ANSIBLE_NOCOLOR="1", NO_COLOR="1")
    env.update(extra)
    return env


class GalaxyStub:
    def __init__(self, tarballs):
        self.collections = {}
        for tarball in map(Path, tarballs):
            with tarfile.open(tarball) as tar:
                info = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
            key = (info["namespace"], info["name"])
            self.collections.setdefault(key, {})[info["version"]] = dict(
                path=tarball, dependencies=info.get("dependencies") or {},
                sha256=hashlib.sha256(tarball.read_bytes()).hexdigest())
        self.requests = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = "http://127.0.0.1:%d/" % self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, path):
        path = path.split("?", 1)[0]
        if path in ("/", "/api/"):
            return 200, {"available_versions": {"v3": "v3/"}}
        match = re.fullmatch(r"/v3/collections/(\w+)/(\w+)/", path)
        if match:   # the collection itself: ansible-galaxy reads when it changed, to trust its cache
            if tuple(match.groups()) not in self.collections:
                return 404, {"errors": [{"detail": "Not found."}]}
            return 200, {"namespace": match.group(1), "name": match.group(2), "created_at": "2026-12-01T00:00:00Z",
                         "updated_at": "2026-12-01T00:00:00Z"}
        match = re.fullmatch(r"/v3/collections/(\w+)/(\w+)/versions/(?:([^/]+)/)?", path)
        if match:
            namespace, name, version = match.groups()
            versions = self.collections.get((namespace, name))
            if versions is None or (version and version not in versions):
                return 404, {"errors": [{"detail": "Not found."}]}
            if version is None:
                data = [{"version": v, "href": "%sv3/collections/%s/%s/versions/%s/" % (self.url, namespace, name, v)}
                        for v in sorted(versions)]
                return 200, {"meta": {"count": len(data)}, "links": {"next": None}, "data": data}
            entry = versions[version]
            return 200, {"namespace": {"name": namespace}, "collection": {"name": name}, "version": version,
                         "href": "%sv3/collections/%s/%s/versions/%s/" % (self.url, namespace, name, version),
                         "download_url": "%sdownload/%s" % (self.url, entry["path"].name),
                         "artifact": {"filename": entry["path"].name, "sha256": entry["sha256"]},
                         "metadata": {"dependencies": entry["dependencies"]}, "signatures": []}
        return 404, {"errors": [{"detail": "Not found."}]}

    def _download(self, path):
        for versions in self.collections.values():
            for entry in versions.values():
                if path == "/download/" + entry["path"].name:
                    return entry["path"].read_bytes()
        return None

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                stub.requests.append(self.path)
                body = stub._download(self.path)
                if body is not None:
                    self._send(200, body, "application/octet-stream")
                    return
                status, data = stub._answer(self.path)
                self._send(status, json.dumps(data).encode(), "application/json")

            def _send(self, status, body, content_type):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet: the test reads stub.requests
                pass

        return Handler


def tarball_of_installed_collection(out_dir, collection_dir=KUBERNETES_CORE):
    """An installed collection packed back into a Galaxy artifact (MANIFEST.json, FILES.json and its files).

    Only the files present are listed: a collection unpacked from a Python wheel lacks some that FILES.json names,
    and ansible-galaxy refuses an artifact missing a listed file.
    """
    collection_dir = Path(collection_dir).resolve()
    manifest = json.loads((collection_dir / "MANIFEST.json").read_text())
    files = json.loads((collection_dir / "FILES.json").read_text())
    files["files"] = [entry for entry in files["files"] if entry["name"] == "." or (collection_dir / entry["name"]).exists()]
    files_json = json.dumps(files).encode()
    manifest["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(files_json).hexdigest()
    manifest_json = json.dumps(manifest).encode()
    info = manifest["collection_info"]
    out = Path(out_dir) / ("%s-%s-%s.tar.gz" % (info["namespace"], info["name"], info["version"]))
    with tarfile.open(out, "w:gz") as tar:
        for name, data in (("MANIFEST.json", manifest_json), ("FILES.json", files_json)):
            member = tarfile.TarInfo(name)
            member.size, member.mode = len(data), 0o644
            tar.addfile(member, io.BytesIO(data))
        for entry in files["files"]:
            if entry["name"] != ".":
                tar.add(collection_dir / entry["name"], arcname=entry["name"], recursive=False)
    return out
