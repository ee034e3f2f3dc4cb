"""One version: the package, its installed metadata and `wsfast --version`."""

import importlib.metadata
import subprocess
import sys

import wsfast


def test_version_is_pep440_and_matches_metadata():
    from packaging.version import Version

    assert str(Version(wsfast.__version__)) == wsfast.__version__
    assert importlib.metadata.version("wsfast") == wsfast.__version__


def test_cli_version():
    out = subprocess.run([sys.executable, "-m", "wsfast", "--version"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "wsfast %s" % wsfast.__version__
