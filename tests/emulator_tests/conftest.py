import os
import sys

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

# The root tests/conftest.py also loads this plugin; importing here keeps this folder runnable on its own.
from emulator.pytest_fixtures import k8s_api, k8s_api_session  # noqa: E402,F401  (fixtures)
