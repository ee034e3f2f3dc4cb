"""``wsfast bench``: a tiny run of the suite, its JSON, and a missing peer shown as skipped."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
SUITE = os.path.join(ROOT, "benchmarks", "suite.py")

pytestmark = pytest.mark.skipif(not os.path.isfile(SUITE), reason="benchmarks/ is not in this tree")


def run_bench(tmp_path, *args, hide=""):
    out = tmp_path / "bench.json"
    env = dict(os.environ, WSFAST_BENCH_HIDE=hide, WSFAST_BENCHMARKS=os.path.dirname(SUITE))
    proc = subprocess.run(
        [sys.executable, "-m", "wsfast", "bench", "--quick", "--json", str(out), *args],
        capture_output=True, text=True, timeout=120, env=env, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(out.read_text()), proc.stdout


def _has_c_backend():
    import importlib.util

    return importlib.util.find_spec("wsfast.codec._core") is not None


@pytest.mark.skipif(not _has_c_backend(), reason="the codec benchmark measures the C backend")
def test_codec_quick_json(tmp_path):
    doc, table = run_bench(tmp_path, "--scenarios", "codec", "--codec-sections", "parse,utf8",
                           "--parse-sizes", "16", "--frames", "2000", "--stacks", "wsfast,wsproto",
                           hide="wsproto")
    assert doc["command"].startswith("wsfast bench --quick")
    for key in ("cpu", "cores", "kernel", "python", "wsfast", "picows", "websockets", "aiohttp", "wsproto"):
        assert key in doc["env"], key
    assert doc["stacks"]["wsfast"]["status"] == "ok"
    # A stack that is not there is reported, not dropped.
    assert doc["stacks"]["wsproto"]["status"].startswith("skipped: not installed")
    parse = doc["summary"]["codec parse 16 B"]
    assert parse["scenario"] == "codec" and parse["higher_is_better"] is True
    cell = parse["stacks"]["wsfast"]
    assert cell["status"] == "ok" and cell["median"] > 0
    assert cell["rel_median"] == pytest.approx(1.0)
    assert parse["stacks"]["wsproto"]["status"].startswith("skipped")
    assert "codec utf8 ASCII" in doc["summary"]
    samples = [s for s in doc["samples"] if s["case"] == "codec parse 16 B"]
    assert samples and all("value" in s and s["stack"] == "wsfast" for s in samples)
    assert "## wsfast bench" in table and "skipped" in table


def test_unknown_stack_is_an_error(tmp_path):
    proc = subprocess.run([sys.executable, SUITE, "--stacks", "nosuchstack"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "unknown stack" in proc.stderr


def test_optional_stacks_skipped_when_absent(tmp_path):
    # Bun and socketify are optional: absent, each is listed as skipped in
    # the scenarios it would run in and as n/a where it does not apply.
    doc, table = run_bench(tmp_path, "--scenarios", "pingpong,broadcast", "--duration", "0.2",
                           "--bcast-clients", "20", "--broadcasts", "2",
                           "--stacks", "wsfast,bun,socketify", hide="bun,socketify")
    for st in ("bun", "socketify"):
        assert doc["stacks"][st]["status"].startswith("skipped: not installed"), doc["stacks"][st]
        assert doc["summary"]["pingpong"]["stacks"][st]["status"].startswith("skipped")
        assert doc["summary"]["broadcast"]["stacks"][st]["status"].startswith("n/a: no server")
    assert doc["summary"]["pingpong"]["stacks"]["wsfast"]["status"] == "ok"
    assert "skipped" in table
