"""The public API is typed: mypy finds a user's type errors through the
installed package (py.typed, the extension stubs), the package and the typed
examples pass ``mypy --strict``, and the extension stubs match the compiled
code and the pure-Python backend (``mypy.stubtest``).

Skipped when mypy is not installed.
"""

import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("mypy")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TYPING = os.path.join(ROOT, "tests", "typing")


def run(args, cwd):
    proc = subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


def expected_errors(path):
    """{line: code} from the ``# expect: code`` marks in ``path``."""
    expected = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            m = re.search(r"# expect: ([a-z-]+)", line)
            if m:
                expected[number] = m.group(1)
    return expected


def test_mypy_reports_each_deliberate_error_in_a_user_script(tmp_path):
    script = os.path.join(TYPING, "user_script_errors.py")
    # Without this project's configuration, from a directory of its own:
    # what a user's project sees of the installed package.
    rc, out = run(["mypy", "--strict", "--config-file", os.devnull, "--cache-dir",
                   str(tmp_path / "cache"), script], cwd=str(tmp_path))
    assert rc == 1, out
    assert "import-untyped" not in out and "import-not-found" not in out, out
    reported = {}
    for m in re.finditer(r"user_script_errors\.py:(\d+): error: .*\[([a-z-]+)\]", out):
        reported.setdefault(int(m.group(1)), set()).add(m.group(2))
    expected = expected_errors(script)
    assert len(expected) >= 9
    missing = {line: code for line, code in expected.items() if code not in reported.get(line, ())}
    assert not missing, "mypy missed %r:\n%s" % (missing, out)
    unexpected = {line: codes for line, codes in reported.items() if line not in expected}
    assert not unexpected, "unexpected errors %r:\n%s" % (unexpected, out)


def test_the_script_is_clean_once_the_errors_are_removed(tmp_path):
    """The marks are the only errors: the same script with each marked
    statement replaced by ``pass`` passes --strict (so the test above is not
    matching noise)."""
    with open(os.path.join(TYPING, "user_script_errors.py")) as f:
        lines = [re.sub(r"\S.*# expect:.*", "pass", line) for line in f]
    clean = tmp_path / "clean.py"
    clean.write_text("".join(lines))
    rc, out = run(["mypy", "--strict", "--config-file", os.devnull, "--cache-dir",
                   str(tmp_path / "cache"), str(clean)], cwd=str(tmp_path))
    assert rc == 0, out


def test_package_and_typed_examples_pass_mypy_strict(tmp_path):
    if not os.path.isfile(os.path.join(ROOT, "pyproject.toml")):
        pytest.skip("needs the source tree")
    # [tool.mypy] in pyproject.toml: strict, the package and examples/typed
    rc, out = run(["mypy", "--cache-dir", str(tmp_path / "cache")], cwd=ROOT)
    assert rc == 0 and "Success" in out, out


def test_extension_stubs_match_both_backends(tmp_path):
    try:
        import wsfast.codec._core  # noqa: F401
    except ImportError:
        pytest.skip("the compiled codec is not built")
    modules = ["wsfast.codec._core", "wsfast.codec._python"]
    try:
        import wsfast.codec._cffi  # noqa: F401
    except ImportError:
        pass  # not built: the suite's cffi tests say so (skipped or failed)
    else:
        modules.append("wsfast.codec._cffi")
    if sys.platform.startswith("linux"):
        modules.append("wsfast.server._syscalls")
    rc, out = run(["mypy.stubtest", "--mypy-config-file", os.devnull, "--allowlist",
                   os.path.join(TYPING, "stubtest-allowlist.txt"), *modules], cwd=str(tmp_path))
    assert rc == 0, out
