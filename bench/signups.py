"""Sign-ups at scale: does ``keel dev`` stay flat as its tables grow?

Starts a real ``keel dev`` as a child process (its own moto, gateway, pollers) and makes ``count``
sign-ups (``POST /v1/tenants``) over HTTP one after another, ``SIGNUPS_PER_USER`` by each user (a new
user's token comes from ``/_local/token``, untimed). It reports the p50 sign-up latency at the 10th,
100th and 1,000th sign-up (over the ``WINDOW`` sign-ups up to each; the first, cold one never counts)
and the child's resident memory there. Budget: the last p50 within 1.5x the 10th's, RSS < 500 MB.

What is compared is the cost of a sign-up as the tables grow, so every window starts alike: before
it, ``keel dev`` finishes what earlier sign-ups queued (each one runs a saga through several
consumers in the background). Back to back, one process does a sign-up's request and its saga on
the same cores; when the sagas fall behind, the latency measures that backlog instead, which grows
with the number of consumers, not with the data. The run reports that too, as it is: the p50 of the
``WINDOW`` sign-ups before each drain and how much the drain waited for.

A benchmark reports; it does not assert. ``python -m bench.signups --count 200`` runs it alone.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from infra.local.runtime import free_port

ROOT = Path(__file__).resolve().parents[1]
LATENCY_BUDGET = 1.5
RSS_BUDGET_MB = 500
#: Each checkpoint's p50 is over this many sign-ups up to it (the 10th's: sign-ups 2 to 26).
WINDOW = 25
#: A token costs the local IdP more than a sign-up costs identity: five sign-ups per user keep the run
#: short. The authorizer does no DynamoDB request for a sign-up, so its cache hardly moves the latency.
SIGNUPS_PER_USER = 5


#: ``keel dev`` is idle when no poller has moved and every queue is empty for this long (longer than
#: a queue poller's long poll and a stream poller's rest).
QUIET_SECONDS = 1.2


@dataclass(frozen=True)
class Checkpoint:
    signups: int
    p50_ms: float
    rss_mb: float
    #: The p50 of the ``WINDOW`` sign-ups made back to back before the drain (None for the first).
    backlog_p50_ms: float | None = None
    #: Messages still queued or in flight when the drain before this window began.
    queued: int = 0


@dataclass(frozen=True)
class SignupRun:
    start_rss_mb: float
    checkpoints: list[Checkpoint]
    seconds: float
    #: Why the run stopped early (a sign-up that failed), if it did.
    stopped: str | None = None

    @property
    def latency_ratio(self) -> float:
        return self.checkpoints[-1].p50_ms / self.checkpoints[0].p50_ms if self.checkpoints else 0.0

    @property
    def peak_rss_mb(self) -> float:
        return max((c.rss_mb for c in self.checkpoints), default=0.0)

    @property
    def breaches(self) -> list[str]:
        out = [f"stopped: {self.stopped}"] if self.stopped else []
        if self.latency_ratio > LATENCY_BUDGET:
            out.append(f"p50 {self.latency_ratio:.2f}x the first checkpoint's > {LATENCY_BUDGET}x")
        if self.peak_rss_mb > RSS_BUDGET_MB:
            out.append(f"RSS {self.peak_rss_mb:.0f} MB > {RSS_BUDGET_MB} MB")
        return out


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` (Linux ``/proc``, else ``ps``)."""
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    out = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024


@contextmanager
def keel_dev() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``keel dev`` in a child process on a free port, with its state in a temporary folder."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="keel-bench-signups-") as state:
        env = dict(os.environ, POWERTOOLS_LOG_LEVEL="WARNING", POWERTOOLS_METRICS_DISABLED="true")
        command = [sys.executable, "-m", "infra.local.cli", "dev", "--quiet", "--port", str(port)]
        child = subprocess.Popen(
            [*command, "--state-dir", state], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            _wait_until_up(child, port)
            yield child, port
        finally:
            child.terminate()
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _wait_until_up(child: subprocess.Popen[bytes], port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            stderr = child.stderr.read().decode() if child.stderr else ""
            raise RuntimeError(f"keel dev exited with {child.returncode}: {stderr}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/_local/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("keel dev did not come up")


class SignupFailed(RuntimeError):
    """The local API answered a sign-up (or its token) with an error."""


class Client:
    """One keep-alive HTTP connection to the local gateway."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
        self.connection.request(method, path, body=body, headers=headers or {})
        response = self.connection.getresponse()
        data = response.read()
        if response.status >= 300:
            raise SignupFailed(f"{method} {path}: {response.status} {data[:300]!r}")
        return data

    def token(self, user: int) -> str:
        return self.call("GET", f"/_local/token?email=bench-signup-{user}@example.com&raw=1").decode()

    def sign_up(self, token: str, n: int) -> float:
        """One sign-up as the token's user; returns the seconds ``POST /v1/tenants`` took."""
        body = json.dumps({"name": f"Bench {n}"}).encode()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        started = time.perf_counter()
        self.call("POST", "/v1/tenants", body, headers)
        return time.perf_counter() - started


def checkpoints_for(count: int) -> list[int]:
    """10, 100 and 1,000 where the run reaches them, and always the last sign-up."""
    return sorted({n for n in (10, 100, 1000) if n < count} | {count})


def p50_ms(latencies: list[float], n: int) -> float:
    """The median latency of the ``WINDOW`` sign-ups up to the ``n``-th (from the 2nd on: the first is
    a cold start; the 10th's window runs on to the 26th)."""
    end = min(len(latencies), max(n, WINDOW + 1))
    return statistics.median(latencies[max(1, end - WINDOW) : end]) * 1000


def window_start(mark: int) -> int:
    """The first sign-up of ``mark``'s window (see ``p50_ms``): ``keel dev`` is drained before it."""
    return max(2, max(mark, WINDOW + 1) - WINDOW + 1)


class Runtime:
    """What the bench reads of ``keel dev``'s progress: its pollers' counters and its queues."""

    def __init__(self, client: Client) -> None:
        import boto3

        health = json.loads(client.call("GET", "/_local/health"))
        self.client = client
        self.sqs = boto3.client(
            "sqs",
            endpoint_url=health["components"]["moto"]["endpoint"],
            region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )

    def progress(self) -> tuple[tuple[int, ...], int]:
        """Every poller's counters, and the messages queued or in flight (dead-letter queues aside)."""
        health = json.loads(self.client.call("GET", "/_local/health"))["components"]
        counters = tuple(
            component.get(name, 0)
            for _, component in sorted(health.items())
            for name in ("succeeded", "failed", "delivered")
            if isinstance(component, dict)
        )
        queued = 0
        for url in self.sqs.list_queues().get("QueueUrls", []):
            if url.endswith("-dlq"):
                continue
            attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            queued += sum(
                int(attributes[name])
                for name in (
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                )
            )
        return counters, queued

    def drain(self, timeout: float = 300) -> int:
        """Wait until nothing moves and nothing is queued; returns how many messages were queued."""
        deadline = time.monotonic() + timeout
        previous = self.progress()
        queued_at_start = previous[1]
        while time.monotonic() < deadline:
            time.sleep(QUIET_SECONDS)
            now = self.progress()
            if now == previous and now[1] == 0:
                return queued_at_start
            previous = now
        raise SignupFailed(f"keel dev did not finish its backlog within {timeout:.0f} s")


def _before(latencies: list[float], start: int) -> float | None:
    """The p50 of the ``WINDOW`` sign-ups made back to back up to sign-up ``start`` (not included)."""
    earlier = latencies[max(1, start - 1 - WINDOW) : start - 1]
    return statistics.median(earlier) * 1000 if len(earlier) >= WINDOW else None


def run(count: int = 1000) -> SignupRun:
    """``count`` sign-ups on a fresh ``keel dev``; p50 and RSS at each checkpoint."""
    marks = checkpoints_for(count)
    drains = {window_start(mark) for mark in marks}
    began = time.perf_counter()
    with keel_dev() as (child, port):
        start_rss = rss_mb(child.pid)
        client = Client(port)
        runtime = Runtime(client)
        latencies: list[float] = []
        token = ""
        rss_at: dict[int, float] = {}
        queued_before: dict[int, int] = {}
        stopped = None
        for n in range(1, count + 1):
            try:
                if n in drains:
                    queued_before[n] = runtime.drain()
                if (n - 1) % SIGNUPS_PER_USER == 0:
                    token = client.token(n // SIGNUPS_PER_USER)
                latencies.append(client.sign_up(token, n))
            except SignupFailed as failed:
                stopped = f"sign-up {n} failed: {failed}"
                rss_at[n - 1] = rss_mb(child.pid)
                break
            if n in marks:
                rss_at[n] = rss_mb(child.pid)
        checkpoints = [
            Checkpoint(
                n,
                p50_ms(latencies, n),
                rss,
                backlog_p50_ms=_before(latencies, window_start(n)),
                queued=queued_before.get(window_start(n), 0),
            )
            for n, rss in sorted(rss_at.items())
            if n > 1
        ]
        client.connection.close()
    return SignupRun(start_rss, checkpoints, time.perf_counter() - began, stopped)


def report(result: SignupRun) -> int:
    """Print the run as ``make bench`` shows it; returns the number of budget breaches (0 or 1)."""
    print(
        f"\nSign-ups on one keel dev, one at a time, {SIGNUPS_PER_USER} per user (p50 of the {WINDOW} up to each"
        f" checkpoint, started on an idle keel dev; budget: the last p50 <= {LATENCY_BUDGET}x the 10th's,"
        f" RSS < {RSS_BUDGET_MB} MB)"
    )
    print(f"  keel dev at start: RSS {result.start_rss_mb:6.0f} MB")
    for point in result.checkpoints:
        ratio = point.p50_ms / result.checkpoints[0].p50_ms
        print(
            f"  after {point.signups:>5} sign-ups: p50 {point.p50_ms:6.1f} ms ({ratio:4.2f}x)"
            f"  RSS {point.rss_mb:6.0f} MB{_backlog(point)}"
        )
    verdict = "; ".join(result.breaches) or "ok"
    print(f"  {'!! ' if result.breaches else ''}{verdict}   ({result.seconds:.0f} s)")
    return int(bool(result.breaches))


def _backlog(point: Checkpoint) -> str:
    if point.backlog_p50_ms is None:
        return ""
    return f"   (back to back before it: p50 {point.backlog_p50_ms:6.1f} ms, {point.queued} messages queued)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.signups", description=__doc__)
    parser.add_argument("--count", type=int, default=1000, help="sign-ups to make (default: 1000)")
    args = parser.parse_args(argv)
    report(run(max(11, args.count)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
