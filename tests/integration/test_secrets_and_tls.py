"""Credentials never reach output or logs, even at -vvv; TLS verification is on unless turned off explicitly.

test_playbook_usage.py already checks an `api_key` module argument at -vvv (ad hoc) and AWX's token credential over
TLS; here: the whole role at -vvv with a kubeconfig carrying a token, a client key and a CA, plus Ansible's log file.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from clusteredge_testworld.emulator import EmulatorServer
from integration.ansible_cli import ansible_env, run_module, write_local_inventory
from clusteredge_testworld.lab.cluster import SERVICE_CIDR_V4, SERVICE_CIDR_V6, cluster

pytestmark = pytest.mark.integration

NODES = ("node-1", "node-2")
SERVICES = [{"namespace": "shop", "name": "frontend", "sources": ["50.60.0.0/16"]}]


def client_key_and_cert():
    """A client key and its self-signed certificate, PEM: key material the run must load but never show."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "clusteredge-calico")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def b64(data):
    return base64.b64encode(data).decode()


def test_the_role_at_vvv_never_shows_the_token_or_the_client_key(tmp_path):
    token = "tok-" + os.urandom(12).hex()
    key_pem, cert_pem = client_key_and_cert()
    with EmulatorServer(token=token, tls_dir=str(tmp_path / "pki"), service_cidrs=(SERVICE_CIDR_V4, SERVICE_CIDR_V6)) as api:
        api.seed(cluster(dict((node, "127.0.0.1") for node in NODES)))
        kubeconfig = {
            "apiVersion": "v1", "kind": "Config", "current-context": "prod",
            "clusters": [{"name": "prod", "cluster": {"server": api.url,
                                                      "certificate-authority-data": b64(Path(api.ca_cert_path).read_bytes())}}],
            "users": [{"name": "sa", "user": {"token": token, "client-certificate-data": b64(cert_pem),
                                              "client-key-data": b64(key_pem)}}],
            "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "sa"}}]}
        play = [{"name": "Expose, connected through an inline kubeconfig", "hosts": "nodes", "gather_facts": False,
                 "module_defaults": {"group/clusteredge.calico.calico": {"kubeconfig": "{{ cluster_kubeconfig }}"}},
                 "roles": [{"role": "clusteredge.calico.clusterip_exposure"}]}]
        (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
        write_local_inventory(tmp_path / "inventory.yml", dict(("h-%s" % node, node) for node in NODES))
        (tmp_path / "vars.json").write_text(json.dumps({"cluster_kubeconfig": kubeconfig, "clusterip_exposure_services": SERVICES,
                                                        "clusterip_exposure_canary_settle": 0}))
        log = tmp_path / "ansible.log"
        env = ansible_env(api.url, tmp_path, auth=False, extra={"ANSIBLE_LOG_PATH": str(log)})
        proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-vvv", "-i", str(tmp_path / "inventory.yml"),
                               str(tmp_path / "play.yml"), "-e", "@%s" % (tmp_path / "vars.json")],
                              env=env, capture_output=True, text=True, check=False, timeout=600, cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert [r for r in api.requests if not r["authorized"]] == [], "every request carried the token"
        assert len(api.objects("HostEndpoint")) == len(NODES)

    logged = log.read_text()
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in proc.stdout, "-vvv printed the module arguments, masked"
    assert "ESTABLISH LOCAL CONNECTION" in logged, "the log file holds the -vvv output too"
    key_body = "".join(line for line in key_pem.decode().splitlines() if "-----" not in line)
    secrets = {"token": token, "client key (PEM)": key_body[:40], "client key (base64 PEM)": b64(key_pem)[:40],
               "client key line": key_pem.decode().splitlines()[1]}
    for where, text in (("stdout", proc.stdout), ("stderr", proc.stderr), ("ANSIBLE_LOG_PATH", logged)):
        leaked = [what for what, value in secrets.items() if value in text]
        assert leaked == [], "%s shows the %s" % (where, ", ".join(leaked))


# How the module is told about the emulator's throwaway CA: (module arguments, expected to connect).
TLS_CASES = [
    pytest.param({}, False, id="default-verifies-and-fails"),
    pytest.param({"validate_certs": False}, True, id="validate_certs-false"),
    pytest.param({"ca_cert": "CA"}, True, id="ca_cert-given"),
]


@pytest.mark.parametrize("tls_args, connects", TLS_CASES)
def test_tls_verification_is_on_unless_turned_off(tmp_path, tls_args, connects):
    with EmulatorServer(token="t0ken", tls_dir=str(tmp_path / "pki")) as api:
        args = dict((k, api.ca_cert_path if v == "CA" else v) for k, v in tls_args.items())
        env = ansible_env(api.url, tmp_path, extra={"K8S_AUTH_API_KEY": "t0ken"})
        result = run_module(env, "clusteredge.calico.calico_hostendpoint", dict(args, state="gathered"))
        output = result.stdout + result.stderr
        assert "Traceback" not in output and "MODULE FAILURE" not in output
        if connects:
            assert not result.failed, result
            assert result["gathered"] == []
            return
        assert result.failed
        message = result["msg"]
        assert "TLS certificate could not be verified" in message and "CERTIFICATE_VERIFY_FAILED" in message, message
        assert "ca_cert" in message and "validate_certs: false" in message, "the message says how to fix it"
        assert "attempts" not in message, "a certificate problem is not retried as if it were transient"
        assert [r for r in api.requests if r["verb"] != "admin"] == [], "no request was sent over the unverified connection"
