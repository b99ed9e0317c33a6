"""Write the vars file `ansible-test integration` passes to every target (tests/integration/integration_config.yml).

ansible-test runs the targets with a cleaned environment: K8S_AUTH_* (and KUBECONFIG) do not reach them. This
carries the K8S_AUTH_* variables of the caller over as `k8s_auth`, which every target gives the modules through
module_defaults; with none set the targets use ~/.kube/config (HOME does reach them).

    python tests/integration/integration_config.py [PATH]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

DEFAULT_PATH = Path(__file__).resolve().parent / 'integration_config.yml'

# kubernetes.core's environment variables and the module option each sets.
K8S_AUTH_OPTIONS = {
    'K8S_AUTH_KUBECONFIG': 'kubeconfig',
    'K8S_AUTH_CONTEXT': 'context',
    'K8S_AUTH_HOST': 'host',
    'K8S_AUTH_API_KEY': 'api_key',
    'K8S_AUTH_USERNAME': 'username',
    'K8S_AUTH_PASSWORD': 'password',
    'K8S_AUTH_SSL_CA_CERT': 'ca_cert',
    'K8S_AUTH_CERT_FILE': 'client_cert',
    'K8S_AUTH_KEY_FILE': 'client_key',
    'K8S_AUTH_VERIFY_SSL': 'validate_certs',
    'K8S_AUTH_PROXY': 'proxy',
    'K8S_AUTH_NO_PROXY': 'no_proxy',
    'K8S_AUTH_IMPERSONATE_USER': 'impersonate_user',
}
TRUE_WORDS = ('1', 'true', 'yes', 'on')


def k8s_auth(environ) -> dict:
    auth = {}
    for variable, option in K8S_AUTH_OPTIONS.items():
        value = environ.get(variable)
        if value:
            auth[option] = value.strip().lower() in TRUE_WORDS if option == 'validate_certs' else value
    return auth


def write(path: Path, environ) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # It may hold a token: readable by the owner only, from the first byte on.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, 'w', encoding='utf-8') as handle:
        handle.write('---\n# Written by tests/integration/integration_config.py from K8S_AUTH_*; never commit it.\n')
        yaml.safe_dump({'k8s_auth': k8s_auth(environ)}, handle, default_flow_style=False)
    return path


if __name__ == '__main__':
    print(write(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH, os.environ))
