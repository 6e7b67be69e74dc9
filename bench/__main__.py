"""``python -m bench``: prints the cold-start, DynamoDB-requests, gateway, first-response and sign-up
figures and flags budget breaches."""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import statistics
import sys
import time
from typing import Any

from bench import coldstart, first_response, scenarios, signups, tenant_credentials
from bench.harness import Harness, counting, local_runtime
from bench.requests import Measured
from infra.local.runtime import LocalRuntime
from infra.topology import TOPOLOGY

GATEWAY_BUDGET_MS = 2.0


def handlers() -> list[tuple[str, str, bool]]:
    rows: list[tuple[str, str, bool]] = []
    for ctx in TOPOLOGY.contexts:
        if ctx.api_handler:
            rows.append((f"{ctx.name} api", ctx.api_handler, ctx.uses_stripe))
        # An endpoint (a webhook receiver) is held to an API handler's budget: it must not load stripe.
        rows += [(f"{ctx.name} endpoint {e.name}", e.handler, False) for e in ctx.endpoints]
        rows += [(f"{ctx.name} consumer {s.name}", s.handler, ctx.uses_stripe) for s in ctx.subscriptions]
        rows += [(f"{ctx.name} job {j.name}", j.handler, ctx.uses_stripe) for j in ctx.jobs]
    if TOPOLOGY.authorizer_handler:
        rows.append(("authorizer", TOPOLOGY.authorizer_handler, False))
    rows.append(("outbox relay", TOPOLOGY.outbox_relay_handler, False))
    return rows


def print_cold_starts(runs: int) -> int:
    print(
        f"\nCold start: import + init in a fresh interpreter, interleaved with the floor, median of {runs}"
        f" (budget <= {coldstart.BUDGET}x floor)"
    )
    floor, rows = coldstart.measure(handlers(), runs=runs)
    print(f"  floor (boto3 + Powertools + pydantic + resolver): {floor * 1000:7.1f} ms")
    print(f"  {'handler':<44} {'module':<48} {'ms':>7} {'ratio':>6}  stripe  verdict")
    breaches = 0
    for row in rows:
        verdict = "; ".join(row.breaches) or "ok"
        breaches += bool(row.breaches)
        stripe = "yes" if row.imports_stripe else "no"
        flag = "!! " if row.breaches else ""
        figures = f"{row.seconds * 1000:7.1f} {row.ratio:6.2f}  {stripe:<6}"
        print(f"  {row.name:<44} {row.module:<48} {figures}  {flag}{verdict}")
    print(
        "  (import + module-level init only: services built lazily on first use, as identity's wiring does,"
        "\n   add to the first request, not to this figure; the floor has no such deferral.)"
    )
    return breaches


def print_requests(harness: Harness) -> int:
    print("\nDynamoDB requests per operation (budget: read 1 request; write 1 TransactWriteItems after at most 1 read;")
    print("authorizer 1 request per uncached authorization; no scans). Counted on the wire, per function.")
    print("receive (a webhook receiver): 1 TransactWriteItems, no read, no Stripe request; process (its processor):")
    print("1 Stripe request and 1 TransactWriteItems. Stripe's API requests are counted too.")
    print(f"  {'context':<10} {'operation':<50} {'kind':<7} {'requests':<44} verdict")
    breaches = 0
    for stray in scenarios.strays(TOPOLOGY):
        print(f"  !! bench/scenarios/{stray}.py names no context of the topology: it does not run")
    with counting(harness):
        for ctx, scenario in scenarios.for_topology(TOPOLOGY):
            if scenario is None:
                breaches += 1
                print(f"  {ctx.name:<10} !! no scenario: write bench/scenarios/{ctx.name}.py (keel new context does)")
                continue
            for step in scenario.steps(harness):
                if step.prepare is not None:
                    step.prepare()
                harness.reset_counts()
                step.run()
                counted = harness.counts["authorizer" if step.kind == "auth" else "api"]
                row = Measured(ctx.name, step.name, step.kind, dict(counted), harness.stripe_requests)
                verdict = "; ".join(row.breaches) or "ok"
                breaches += bool(row.breaches)
                flag = "!! " if row.breaches else ""
                print(f"  {row.context:<10} {row.step:<50} {row.kind:<7} {row.summary:<44} {flag}{verdict}")
    return breaches


def print_gateway_overhead(runtime: LocalRuntime, requests: int = 400) -> int:
    """Round trip of GET /health over HTTP minus the platform handler's own time, per request."""
    platform = runtime.api_functions["platform"]
    invoke = platform.invoke
    handler_ms: list[float] = []

    def timed(event: Any) -> Any:
        started = time.perf_counter()
        try:
            return invoke(event)
        finally:
            handler_ms.append((time.perf_counter() - started) * 1000)

    platform.invoke = timed  # type: ignore[method-assign]
    connection = http.client.HTTPConnection("127.0.0.1", runtime.port, timeout=5)
    overhead: list[float] = []
    try:
        for i in range(requests):
            started = time.perf_counter()
            connection.request("GET", "/openapi.json")
            connection.getresponse().read()
            total = (time.perf_counter() - started) * 1000
            if i >= 50:  # after warm-up
                overhead.append(total - handler_ms[-1])
    finally:
        connection.close()
        platform.invoke = invoke  # type: ignore[method-assign]
    p50 = statistics.median(overhead)
    p90 = statistics.quantiles(overhead, n=10)[-1]
    flag = "!! over budget" if p50 > GATEWAY_BUDGET_MS else "ok"
    print(f"\nLocal gateway overhead over the handler's own time (budget p50 <= {GATEWAY_BUDGET_MS} ms)")
    print(f"  GET /openapi.json x {len(overhead)}: p50 {p50:.2f} ms, p90 {p90:.2f} ms  {flag}")
    return int(p50 > GATEWAY_BUDGET_MS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="processes per cold-start figure (median; >= 5)")
    parser.add_argument("--signups", type=int, default=1000, help="sign-ups on one keel dev (default: 1000)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    # The handlers' own JSON logs and metrics would interleave with the tables.
    os.environ.update(POWERTOOLS_LOG_LEVEL="WARNING", POWERTOOLS_METRICS_DISABLED="true")
    started = time.perf_counter()
    breaches = print_cold_starts(max(5, args.runs))
    print("\nStarting the local runtime for the request counts ...", flush=True)
    with local_runtime() as runtime:
        harness = Harness(runtime)
        breaches += print_requests(harness)
        breaches += print_gateway_overhead(runtime)
        breaches += first_response.report(harness, first_response.ROUNDS)
        breaches += tenant_credentials.report(harness)
    breaches += signups.report(signups.run(max(11, args.signups)))
    print(f"\n{breaches} budget breach(es); measured in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
