"""Offline stand-in for ansible-test's pip bootstrap script (get-pip.py).

scripts/bootstrap.sh copies this file to ~/.ansible/test/cache/get_pip_24_2.py, where ansible-test
(ansible-core 2.19) looks before trying to download get-pip from ci-files.testing.ansible.com, which
is unreachable from our machines. ansible-test runs it, through its quiet_pip.py wrapper, inside a
freshly created venv that has no pip, with arguments such as:

    --disable-pip-version-check pip==24.2 --no-setuptools --no-wheel

Like get-pip.py, it imports pip straight from the wheel (a wheel is a zip file) and lets that pip
install the requested packages from the wheel directory (--find-links; --no-index when only pip
is requested, which is the case for ansible-core 2.19).
"""

from __future__ import annotations

import glob
import os
import sys

WHEEL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'wheels')
GET_PIP_ONLY_OPTIONS = ('--no-setuptools', '--no-wheel')


def main() -> int:
    """Install pip (and whatever else was asked for) into the running interpreter."""
    wheels = sorted(glob.glob(os.path.join(WHEEL_DIR, 'pip-*.whl')))

    if not wheels:
        sys.stderr.write('get_pip stand-in: no pip wheel in %s; run scripts/bootstrap.sh\n' % WHEEL_DIR)
        return 1

    sys.path.insert(0, wheels[-1])

    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel

    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    options = ['install', '--upgrade', '--force-reinstall', '--find-links', WHEEL_DIR]

    if all(arg.startswith('-') or arg.startswith('pip==') for arg in args):
        options.append('--no-index')  # only pip itself is wanted: take it from the cached wheel

    return pip_main(options + args)


if __name__ == '__main__':
    sys.exit(main())
