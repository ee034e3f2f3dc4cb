"""Runs every test against the three backends: the C core through Cython,
the same C through cffi, and the Python oracle; and every protocol test
against both builds of the compiled twins.

A compiled backend is skipped only when it is not built; with
WSFAST_REQUIRE_C=1 (CI) a missing Cython backend is an error instead, and
with WSFAST_REQUIRE_CFFI=1 a missing cffi backend.
"""

import importlib
import os
import sys

import pytest

from wsfast._twins import TWINS, compiled
from wsfast.codec import _python

try:
    from wsfast.codec import _core
except ImportError as exc:  # not built
    _core = None
    _core_error = exc

try:
    from wsfast.codec import _cffi
except ImportError as exc:  # not built, or cffi's runtime missing
    _cffi = None
    _cffi_error = exc


def _c_backend():
    if _core is None:
        if os.environ.get("WSFAST_REQUIRE_C") == "1":
            pytest.fail("C backend required but not importable: %s" % _core_error)
        pytest.skip("C backend not built")
    return _core


def _cffi_backend():
    if _cffi is None:
        if os.environ.get("WSFAST_REQUIRE_CFFI") == "1":
            pytest.fail("cffi backend required but not importable: %s" % _cffi_error)
        pytest.skip("cffi backend not built")
    return _cffi


def _backend(name):
    return {"c": _c_backend, "cffi": _cffi_backend, "python": lambda: _python}[name]()


@pytest.fixture(params=["c", "cffi", "python"])
def impl(request):
    """The backend module under test: wsfast.codec._core, ._cffi or ._python."""
    return _backend(request.param)


@pytest.fixture(params=["c", "cffi"])
def c_impl(request):
    """Each binding of the C core, compared with the oracle (``py_impl``)."""
    return _backend(request.param)


@pytest.fixture
def backend_named():
    """backend_named("c" | "cffi" | "python"): that backend's module (skips
    as ``impl`` does when it is not built)."""
    return _backend


@pytest.fixture
def py_impl():
    return _python


# The backend fixtures hold no state, so reusing them across examples is safe.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "wsfast", suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile("wsfast")


# Test modules run once on each build of the twins (wsfast._twins): the
# compiled <module>_c and the pure-Python <module>, in this one process.
TWIN_TESTS = {"test_protocol", "test_handshake", "test_http", "test_extensions",
              "test_oracle_property", "test_policies", "test_interop_websockets",
              "test_deflate_connection"}
# Helpers those tests use, whose imports are switched alike.
TWIN_HELPERS = ("connpair",)


def _pure_twins():
    # Imported when a twin test first asks, so that the codec tests need
    # no more of the package than the codec (they also run on PyPy 3.9).
    # The drop-in's twin is left to its own tests: its package needs h11,
    # which a codec-and-protocol run (the aarch64 wheel's) may not have.
    return {name: importlib.import_module(name) for name in TWINS
            if not name.startswith("wsfast.wsproto.")}


def _twin_build(build):
    """{name of either build of a twin: the module of ``build``}."""
    chosen = {}
    for name, pure in _pure_twins().items():
        module = pure
        if build == "c":
            module = compiled(name)
            if module is None:
                if os.environ.get("WSFAST_REQUIRE_C") == "1":
                    pytest.fail("compiled twin %s_c required but not importable" % name)
                pytest.skip("compiled twins not built")
        chosen[name] = chosen[name + "_c"] = module
    return chosen


def _switch(namespace, chosen, monkeypatch):
    """Points the twin names a module imported at the build in ``chosen``."""
    for attr, value in list(vars(namespace).items()):
        if isinstance(value, type(sys)):
            if value.__name__ in chosen:
                monkeypatch.setattr(namespace, attr, chosen[value.__name__])
            continue
        home = getattr(value, "__module__", None)
        if home in chosen and callable(value) and hasattr(chosen[home], value.__name__):
            monkeypatch.setattr(namespace, attr, getattr(chosen[home], value.__name__))


def pytest_generate_tests(metafunc):
    if metafunc.module.__name__.rpartition(".")[2] in TWIN_TESTS:
        metafunc.parametrize("twin", ["c", "py"], indirect=True, ids=["twin_c", "twin_py"])


@pytest.fixture(autouse=True)
def twin(request, monkeypatch):
    """In TWIN_TESTS: which build of the twins the test runs on."""
    build = getattr(request, "param", None)
    if build is None:
        return None
    chosen = _twin_build(build)
    _switch(request.module, chosen, monkeypatch)
    for helper in TWIN_HELPERS:  # imported now if not yet: switched before use
        _switch(importlib.import_module(helper), chosen, monkeypatch)
    return build
