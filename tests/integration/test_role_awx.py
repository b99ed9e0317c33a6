"""An AWX job, rehearsed with ansible-runner: the project wrapper, survey answers, and only the four variables AWX's
Kubernetes bearer-token credential injects, over TLS with a token."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from clusteredge_testworld.emulator.admin import AdminClient
from integration.ansible_cli import REPO
from clusteredge_testworld.lab import Lab
from clusteredge_testworld.nodes import free_subnet

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
def test_expose_as_an_awx_job_template_with_a_survey(tmp_path):
    token = "awx-" + os.urandom(8).hex()
    with Lab(tmp_path / "lab", prefix="awx%d" % (os.getpid() % 100), subnet=free_subnet("10.202.0.0/16", seed=os.getpid() + 40), token=token, tls=True) as lab:
        private = tmp_path / "job"
        for sub in ("env", "project", "inventory"):
            (private / sub).mkdir(parents=True)
        shutil.copy(lab.inventory, private / "inventory" / "hosts")
        shutil.copy(REPO / "docs" / "awx" / "expose.yml", private / "project" / "expose.yml")
        # Survey answers arrive as text: the Service list from a textarea, booleans from multiple choice.
        (private / "env" / "extravars").write_text(yaml.safe_dump({
            "clusterip_exposure_services": "- {namespace: shop, name: frontend, sources: [50.60.0.0/16], ports: [443]}\n",
            "clusterip_exposure_prune": "true",
            "clusterip_exposure_owner": "clusteredge.calico",
            "clusterip_exposure_canary_host": "",
            "clusterip_exposure_require_advertised": "false",
        }))
        envvars = {
            "K8S_AUTH_HOST": lab.api_url(),
            "K8S_AUTH_API_KEY": token,
            "K8S_AUTH_VERIFY_SSL": "True",
            "K8S_AUTH_SSL_CA_CERT": lab.ca_cert(),
            "ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"],
        }
        envvars.update(dict((k, v) for k, v in lab.nodes.env().items() if k != "ANSIBLE_PYTHON_INTERPRETER"))
        (private / "env" / "envvars").write_text(yaml.safe_dump(envvars))
        runner = Path(sys.executable).parent / "ansible-runner"
        env = {"PATH": "%s:%s" % (runner.parent, os.environ.get("PATH", "")), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
        proc = subprocess.run([str(runner), "run", str(private), "-p", "expose.yml"], capture_output=True, text=True,
                              check=False, timeout=600, env=env)
        assert proc.returncode == 0, proc.stdout[-5000:]
        assert "shop/frontend [cluster]" in proc.stdout and "created HostEndpoint/node-1-eth0" in proc.stdout
        assert token not in proc.stdout
        admin = AdminClient(lab.api_url(), ca_cert_path=lab.ca_cert())
        assert sorted(o["metadata"]["name"] for o in admin.objects(kind="HostEndpoint")) == ["node-1-eth0", "node-2-eth0", "node-3-eth0"]
        assert not [r for r in admin.requests() if r.get("status") == 401], "every request carried the token"
