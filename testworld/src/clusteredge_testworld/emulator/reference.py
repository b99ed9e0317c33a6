"""Where the Calico reference data lives: the one definition of its directory and of the variable that moves it.

The reference data (Calico's CRDs, the admission policies, the SPEC notes) is read at run time and never copied into
the repository. It lives in a `shared/calico`-like directory holding `crds/` (Calico 3.28 CRDs), `crds-3.32/` (3.32
v3 CRDs and admission policies), ...: `$CALICO_REFERENCE_DIR` when set, else, when this package runs from a checkout of
the collection (an editable install), `<checkout>/../shared/calico`. A bare clone, or a platform repository with the
package installed from a wheel, has neither, so every test that needs the data skips with `missing_reason()`.
"""
from __future__ import annotations

import glob
import os

ENV_VAR = 'CALICO_REFERENCE_DIR'
# <checkout>/testworld/src/clusteredge_testworld/emulator/reference.py: the checkout holds galaxy.yml.
_CHECKOUT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 4))
DEFAULT_REFERENCE_DIR = (os.path.join(os.path.dirname(_CHECKOUT), 'shared', 'calico')
                         if os.path.isfile(os.path.join(_CHECKOUT, 'galaxy.yml')) else '(none: not run from a checkout)')


def reference_dir() -> str:
    """A `shared/calico`-like directory: $CALICO_REFERENCE_DIR, else `<checkout>/../shared/calico`."""
    return os.environ.get(ENV_VAR) or DEFAULT_REFERENCE_DIR


def subdir(name: str) -> str:
    """`name` (e.g. 'crds', 'crds-3.32') inside reference_dir()."""
    return os.path.join(reference_dir(), name)


def missing_reason(what: str, directory: str, name: str, patterns: tuple[str, ...] = ('*.yaml',)) -> str | None:
    """Why `what` cannot be read from `directory` (the `name` sub-directory of a reference dir); None when every
    glob of `patterns` matches there."""
    if all(glob.glob(os.path.join(directory, pattern)) for pattern in patterns):
        return None
    return (f'{what} not found in {directory} (reference data read at run time, never copied into the repository; '
            f'set {ENV_VAR} to a shared/calico-like directory that holds {name}/, default {DEFAULT_REFERENCE_DIR})')


def profile_missing_reason(profile) -> str | None:
    """Why the emulator cannot serve `profile` (a name or CalicoProfile) here: v3-CRD mode reads the 3.32 CRDs and
    admission policies (emulator.crd_mode) at run time. None when it can, and when crd_mode is unavailable (the
    emulator then serves CRD mode without schemas) or replaced by a test's stand-in without missing_reason()."""
    from .profiles import resolve_profile  # pylint: disable=import-outside-toplevel
    if not resolve_profile(profile).crd_mode:
        return None
    try:
        from . import crd_mode  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    missing = getattr(crd_mode, 'missing_reason', None)
    return None if missing is None else missing()
