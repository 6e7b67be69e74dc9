"""``python -m bench``: prints the cold-start and DynamoDB-requests tables and flags budget breaches."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time

from bench import coldstart, scenarios
from bench.harness import Harness, local_aws
from bench.requests import Measured, counting_dynamodb_requests
from infra.topology import TOPOLOGY


def handlers() -> list[tuple[str, str, bool]]:
    rows: list[tuple[str, str, bool]] = []
    for ctx in TOPOLOGY.contexts:
        if ctx.api_handler:
            rows.append((f"{ctx.name} api", ctx.api_handler, ctx.uses_stripe))
        rows += [(f"{ctx.name} consumer {s.name}", s.handler, ctx.uses_stripe) for s in ctx.subscriptions]
        rows += [(f"{ctx.name} job {j.name}", j.handler, ctx.uses_stripe) for j in ctx.jobs]
    if TOPOLOGY.authorizer_handler:
        rows.append(("authorizer", TOPOLOGY.authorizer_handler, False))
    rows.append(("outbox relay", TOPOLOGY.outbox_relay_handler, False))
    return rows


def print_cold_starts(runs: int) -> int:
    print(f"\nCold start: import + init, median of {runs} fresh interpreters (budget <= {coldstart.BUDGET}x floor)")
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
    return breaches


def print_requests() -> int:
    print("\nDynamoDB requests per operation (budget: read = 1 request, write = 1 TransactWriteItems, 0 scans)")
    print(f"  {'context':<12} {'operation':<46} {'kind':<6} {'requests':<44} verdict")
    breaches = 0
    with local_aws():
        harness = Harness(TOPOLOGY)
        for module in pkgutil.iter_modules(scenarios.__path__):
            scenario = importlib.import_module(f"{scenarios.__name__}.{module.name}")
            for step in scenario.steps(harness):
                with counting_dynamodb_requests() as count:
                    step.run()
                row = Measured(module.name, step.name, step.kind, dict(count.operations))
                verdict = "; ".join(row.breaches) or "ok"
                breaches += bool(row.breaches)
                ops = ", ".join(f"{k} {v}" for k, v in sorted(row.operations.items())) or "none"
                flag = "!! " if row.breaches else ""
                print(f"  {row.context:<12} {row.step:<46} {row.kind:<6} {ops:<44} {flag}{verdict}")
    return breaches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="processes per cold-start figure (median; >= 5)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    breaches = print_cold_starts(max(5, args.runs))
    breaches += print_requests()
    print(f"\n{breaches} budget breach(es); measured in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
