"""Runs every test against both backends: the C core and the Python oracle.

The C backend is skipped only when it is not built; with
WSFAST_REQUIRE_C=1 (CI) a missing C backend is an error instead.
"""

import os

import pytest

from wsfast import _python

try:
    from wsfast import _core
except ImportError as exc:  # not built
    _core = None
    _core_error = exc


def _c_backend():
    if _core is None:
        if os.environ.get("WSFAST_REQUIRE_C") == "1":
            pytest.fail("C backend required but not importable: %s" % _core_error)
        pytest.skip("C backend not built")
    return _core


@pytest.fixture(params=["c", "python"])
def impl(request):
    """The backend module under test: wsfast._core or wsfast._python."""
    return _c_backend() if request.param == "c" else _python


@pytest.fixture
def c_impl():
    return _c_backend()


@pytest.fixture
def py_impl():
    return _python


# The backend fixtures hold no state, so reusing them across examples is safe.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "wsfast", suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile("wsfast")
