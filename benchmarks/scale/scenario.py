"""The phases of the scale scenario, driven from the harness process.

A ``Harness`` owns one server (N workers) and M client processes, and
stops them all (by PID, via the process groups it created) when it
exits. Every wait has a deadline; nothing here loops without bound.
"""

import json
import math
import os
import select
import shutil
import socket
import subprocess
import tempfile
import time

from . import procs
from .control import Controller
from .stats import decode, summary

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PER_PROCESS = 17_000  # connections per worker / client process (< 20,000 files)
SETTLE = 1.0


def procs_for(connections):
    return max(1, math.ceil(connections / PER_PROCESS))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def split(total, parts):
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


class Harness:
    def __init__(self, stack, workers, client_procs, *, slow_every=0, sources_per_client=4,
                 high_water=64 * 1024, low_water=16 * 1024, max_buffered=1024 * 1024,
                 poll_interval=0.0, topic=None, log=print):
        self.poll_interval = poll_interval
        self.topic = topic  # every connection subscribes to it (wsfast only)
        self.stack, self.workers, self.client_procs = stack, workers, client_procs
        self.slow_every = slow_every
        self.sources_per_client = sources_per_client
        self.water = (high_water, low_water, max_buffered)
        self.log = log
        self.dir = tempfile.mkdtemp(prefix="wsfast-scale-")
        self.port = free_port()
        self.server = None
        self.clients = []
        self._bufs = {}
        self.ctl = None
        self.pids = []
        self.baseline = None

    # -- lifetime -------------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for c in self.clients:
            try:
                c.stdin.close()
            except OSError:
                pass
        procs.stop(self.clients + [self.server])
        for c in self.clients:
            if c.stdout:
                c.stdout.close()
        self.clients, self.server = [], None
        if self.ctl is not None:
            self.ctl.close()
            self.ctl = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def start_server(self):
        hw, lw, mb = self.water
        cmd = procs.python_cmd("benchmarks.scale.servers", "--stack", self.stack,
                               "--workers", self.workers, "--port", self.port, "--control", self.dir,
                               "--high-water", hw, "--low-water", lw, "--max-buffered", mb,
                               *(("--topic", self.topic) if self.topic else ()))
        self.server = procs.start(cmd, ROOT)
        self.ctl = Controller(self.dir)
        self.pids = self.ctl.discover(self.workers, 60.0)
        time.sleep(SETTLE)
        self.baseline = self.snapshot()
        return self.baseline

    def start_clients(self):
        for i in range(self.client_procs):
            sources = ",".join("127.0.%d.%d" % (i, 2 + j) for j in range(self.sources_per_client))
            cmd = procs.python_cmd("benchmarks.scale.client", "--port", self.port, "--sources", sources,
                                   "--index", i, "--slow-every", self.slow_every,
                                   "--poll-interval", self.poll_interval)
            p = procs.start(cmd, ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self.clients.append(p)
            self._bufs[p.stdout.fileno()] = b""
        self.tell({"cmd": "setup", "procs": self.client_procs}, 30.0)

    def alive(self):
        """Which of our processes died: a list of descriptions."""
        dead = []
        if self.server is not None and self.server.poll() is not None:
            dead.append("server supervisor exited with %s" % self.server.returncode)
        for pid in self.pids:
            if procs.rss(pid) is None:
                dead.append("server worker %d is gone" % pid)
        for i, c in enumerate(self.clients):
            if c.poll() is not None:
                dead.append("client %d exited with %s" % (i, c.returncode))
        return dead

    # -- measurements ----------------------------------------------------------

    def snapshot(self):
        per, total = procs.snapshot(self.pids)
        cpu = sum(procs.cpu_seconds(p) or 0.0 for p in self.pids)
        return {"time": time.monotonic(), "rss_total": total,
                "rss": {p: r for p, (r, _) in per.items()},
                "fds": {p: f for p, (_, f) in per.items()}, "cpu": cpu,
                "client_cpu": sum(procs.cpu_seconds(c.pid) or 0.0 for c in self.clients)}

    def worker_stats(self, timeout=10.0):
        answers = self.ctl.ask({"cmd": "stats"}, timeout)
        total = {k: sum(a.get(k, 0) for a in answers.values())
                 for k in ("clients", "opened", "closed", "dropped", "slow", "slow_buffered")}
        total["slow_buffered_max"] = max((a.get("slow_buffered_max", 0) for a in answers.values()), default=0)
        total["answered"] = len(answers)
        total["per_worker_clients"] = sorted(a.get("clients", 0) for a in answers.values())
        return total

    # -- client commands ---------------------------------------------------------

    def send_clients(self, cmds):
        """One command per client (a list) or the same to all (a dict)."""
        if isinstance(cmds, dict):
            cmds = [cmds] * len(self.clients)
        for c, cmd in zip(self.clients, cmds):
            c.stdin.write((json.dumps(cmd) + "\n").encode())
            c.stdin.flush()

    def read_clients(self, timeout):
        """One answer line from each client, or None for those that did not
        answer within ``timeout`` seconds."""
        answers = [None] * len(self.clients)
        index = {c.stdout.fileno(): i for i, c in enumerate(self.clients)}
        waiting = set(index)
        deadline = time.monotonic() + timeout
        while waiting:
            for fd in list(waiting):  # a line may already be buffered
                if b"\n" in self._bufs[fd]:
                    line, self._bufs[fd] = self._bufs[fd].split(b"\n", 1)
                    answers[index[fd]] = json.loads(line)
                    waiting.discard(fd)
            if not waiting:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select(list(waiting), [], [], min(left, 1.0))
            for fd in ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    waiting.discard(fd)
                self._bufs[fd] += chunk
        return answers

    def tell(self, cmds, timeout):
        self.send_clients(cmds)
        return self.read_clients(timeout)

    # -- phases -------------------------------------------------------------------

    def connect(self, total, step=10_000, concurrency=256, step_timeout=300.0):
        """Open ``total`` more connections, ``step`` at a time; returns the
        time per step and what failed."""
        steps, done, errors, failed = [], 0, {}, 0
        t_all = time.monotonic()
        while done < total:
            n = min(step, total - done)
            t0 = time.monotonic()
            answers = self.tell([{"cmd": "connect", "n": k, "concurrency": concurrency,
                                  "timeout": step_timeout} for k in split(n, len(self.clients))],
                                step_timeout + 30.0)
            dt = time.monotonic() - t0
            new = sum(a["new_open"] for a in answers if a)
            failed += sum(a["failed"] for a in answers if a)
            for a in answers:
                for k, v in (a or {}).get("errors", {}).items():
                    errors[k] = max(errors.get(k, 0), 0) + v
            steps.append({"n": n, "opened": new, "seconds": dt})
            done += n
            self.log("  connect: %d/%d (+%d open in %.2fs, %d failed so far)" % (done, total, new, dt, failed))
            if None in answers or new < n * 0.99 or self.alive():
                break
        return {"steps": steps, "seconds": time.monotonic() - t_all, "failed": failed, "errors": errors,
                "dead": self.alive()}

    def broadcast(self, tag, *, size=64, to="all", policy="skip", lead=0.5, timeout=15.0, via="broadcast"):
        """One 64 B message to every client: every worker broadcasts at one
        agreed instant (``via="broadcast"``), or the first worker alone
        publishes it to the topic all clients subscribe to (``"publish"``;
        ``"publish-early"``: handed to the bus before its own clients)."""
        client_pids = [c.pid for c in self.clients]
        cpu0 = procs.cpu_total(self.pids), procs.cpu_total(client_pids)
        at = time.monotonic() + lead
        if via == "broadcast":
            command = {"cmd": "broadcast", "at": at, "size": size, "tag": tag, "to": to, "policy": policy}
        else:
            command = {"cmd": "publish", "at": at, "size": size, "tag": tag, "topic": self.topic,
                       "publisher": self.pids[0], "early": via == "publish-early"}
        seq = self.ctl.send(command)
        self.send_clients({"cmd": "expect", "tag": tag, "timeout": lead + timeout})
        workers = self.ctl.gather(seq, lead + timeout)
        answers = self.read_clients(lead + timeout + 30.0)
        cpu1 = procs.cpu_total(self.pids), procs.cpu_total(client_pids)
        lat, lat_sent = [], []
        readers = received = 0
        for a in answers:
            if a:
                readers += a["readers"]
                received += a["received"]
                lat.extend(decode(a["lat"]))
                lat_sent.extend(decode(a["lat_sent"]))
        s = summary(lat)
        return {
            "tag": tag, "via": via, "readers": readers, "received": received, "missing": readers - received,
            "latency": s, "latency_from_send": summary(lat_sent),
            "all_delivered": (s["max"] if received >= readers and readers else None),
            "reached": sum(w["reached"] for w in workers.values()),
            "eligible": sum(w["eligible"] for w in workers.values()),
            "worker_late_max": max((w["late"] for w in workers.values()), default=None),
            "worker_call_max": max((w["call"] for w in workers.values()), default=None),
            "worker_flushed_max": max((w["flushed"] for w in workers.values()), default=None),
            "workers_answered": len(workers),
            # CPU seconds spent during the broadcast (lead time included):
            # where the time goes, user space against kernel.
            "server_cpu": {"user": cpu1[0][0] - cpu0[0][0], "system": cpu1[0][1] - cpu0[0][1]},
            "client_cpu": {"user": cpu1[1][0] - cpu0[1][0], "system": cpu1[1][1] - cpu0[1][1]},
        }

    def pressure(self, size, count, policy, timeout=120.0, interval=0.0, wait=True):
        seq = self.ctl.send({"cmd": "pressure", "size": size, "count": count, "policy": policy,
                             "interval": interval})
        return self.pressure_result(seq, timeout) if wait else seq

    def pressure_result(self, seq, timeout=120.0):
        answers = self.ctl.gather(seq, timeout)
        keys = ("rounds", "reached", "offered", "skipped", "dropped", "slow", "slow_buffered", "clients")
        total = {k: sum(a.get(k, 0) for a in answers.values()) for k in keys}
        total["rounds"] = max((a.get("rounds", 0) for a in answers.values()), default=0)
        total["slow_buffered_max"] = max((a.get("slow_buffered_max", 0) for a in answers.values()), default=0)
        total["answered"] = len(answers)
        return total

    def churn(self, total, batch, concurrency=128, time_limit=600.0, reference_at=100_000,
              batch_timeout=300.0):
        """Connect and close ``total`` times, ``batch`` at a time, within
        ``time_limit`` seconds; samples the workers' RSS and descriptors
        after every batch."""
        t0 = time.monotonic()
        done = failed = 0
        samples, errors, reference = [], {}, None
        while done < total and time.monotonic() - t0 < time_limit:
            n = min(batch, total - done)
            answers = self.tell([{"cmd": "churn", "count": k, "concurrency": concurrency,
                                  "timeout": batch_timeout} for k in split(n, len(self.clients))],
                                batch_timeout + 30.0)
            if None in answers:
                errors["client did not answer"] = errors.get("client did not answer", 0) + 1
                break
            finished = sum(a["finished"] for a in answers)
            failed += sum(a["failed"] for a in answers)
            for a in answers:
                for k, v in a.get("errors", {}).items():
                    errors[k] = v  # cumulative per client; last answer wins
            done += finished
            snap = self.snapshot()
            samples.append({"done": done, "seconds": time.monotonic() - t0,
                            "rss_total": snap["rss_total"], "fds_total": sum(v or 0 for v in snap["fds"].values())})
            if reference is None and done >= min(reference_at, total):
                time.sleep(SETTLE)
                reference = dict(self.snapshot(), done=done)
            if len(samples) % 10 == 0 or done >= total:
                self.log("  churn: %d/%d in %.0fs, rss %.1f MiB, %d fds" % (
                    done, total, samples[-1]["seconds"], snap["rss_total"] / 1048576, samples[-1]["fds_total"]))
            if finished < n * 0.9 or self.alive():
                errors["batch incomplete"] = errors.get("batch incomplete", 0) + 1
                break
        elapsed = time.monotonic() - t0
        time.sleep(3 * SETTLE)  # the last closes finish
        final = self.snapshot()
        return {"done": done, "failed": failed, "seconds": elapsed, "rate": done / elapsed if elapsed else 0,
                "reference": reference, "final": final, "samples": samples, "errors": errors,
                "dead": self.alive()}
