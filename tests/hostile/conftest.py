"""Fixtures of the hostile-input suite, and the report table printed at
the end of the session (also written to .hostile/report.json at the
root of the run)."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import hostile  # noqa: E402


@pytest.fixture
def start_server():
    """``start_server(kind="epoll", options=None, tls=None)`` -> hostile.Server;
    every server started is stopped (by its PID) after the test."""
    started = []

    def start(kind="epoll", options=None, tls=None):
        server = hostile.Server(kind, options, tls)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def cleanup():
    """A list of callables run after the test, whatever happened."""
    actions = []
    yield actions
    for action in reversed(actions):
        try:
            action()
        except Exception:
            pass


@pytest.fixture(scope="session")
def cert(tmp_path_factory):
    return hostile.make_cert(str(tmp_path_factory.mktemp("tls")))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and report.failed):
        mine = [r for r in hostile.REPORTS if r.get("test") is None]
        for entry in mine:
            entry["test"] = item.name
            entry["outcome"] = report.outcome
        if not mine and report.failed:
            hostile.REPORTS.append(dict(test=item.name, attack=item.name, outcome="failed", figures={},
                                        error=str(report.longrepr).splitlines()[-1][:160]))


def pytest_terminal_summary(terminalreporter):
    if not hostile.REPORTS:
        return
    tr = terminalreporter
    tr.section("hostile-input report")
    columns = ("attack", "outcome", "RSS +MiB peak", "RSS +MiB end", "fds before->after",
               "good p50 ms", "good p99 ms", "good fail", "s", "figures")
    rows = []
    for e in hostile.REPORTS:
        if "fds_before" not in e:
            rows.append((e["attack"], e.get("outcome", "?"), "-", "-", "-", "-", "-", "-", "-",
                         e.get("error", "")))
            continue
        rows.append((
            e["attack"], e.get("outcome", "?"), "%.1f" % e["rss_peak_growth_mib"],
            "%.1f" % e["rss_end_growth_mib"], "%d->%d" % (e["fds_before"], e["fds_after"]),
            "-" if e["p50_ms"] is None else "%.1f" % e["p50_ms"],
            "-" if e["p99_ms"] is None else "%.1f" % e["p99_ms"],
            "-" if e["failures"] is None else str(e["failures"]), "%.1f" % e["seconds"],
            " ".join("%s=%s" % kv for kv in e["figures"].items()),
        ))
    widths = [max(len(str(r[i])) for r in rows + [columns]) for i in range(len(columns) - 1)]
    for r in [columns] + rows:
        tr.write_line("  ".join(str(v).ljust(w) for v, w in zip(r, widths)) + "  " + str(r[-1]))
    out_dir = os.path.join(str(tr.config.rootpath), ".hostile")
    try:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "report.json"), "w") as f:
            json.dump(hostile.REPORTS, f, indent=1, default=repr)
        tr.write_line("(also in %s)" % os.path.join(".hostile", "report.json"))
    except OSError as exc:
        tr.write_line("report.json not written: %s" % exc)
