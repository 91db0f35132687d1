# Makes python3-h2 (with hpack and hyperframe) importable for the HTTP/2 tests from whichever
# Python 3 runs ctest. Debian installs these pure-Python packages for its own interpreter only
# (/usr/lib/python3/dist-packages); a Python built elsewhere (pyenv, a venv) does not look there.
# The directory is appended, never put first, so nothing of the running interpreter is shadowed.
# Missing altogether, the import fails loudly: a skipped h2 test would be a test that cannot fail.
import sys

_DEBIAN_PACKAGES = "/usr/lib/python3/dist-packages"

try:
    import h2  # noqa: F401
except ImportError:
    if _DEBIAN_PACKAGES not in sys.path:
        sys.path.append(_DEBIAN_PACKAGES)
