"""Cold start: each handler's import + init in a fresh interpreter, as a ratio to the floor.

The floor is what every API handler needs anyway: boto3 + Powertools + pydantic + a validating
``APIGatewayRestResolver``, imported in the same run, the same way. Bytecode is compiled first so
the numbers are not dominated by compilation; each figure is the median of ``runs`` processes.
"""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 1.15

FLOOR = """
import boto3, pydantic
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
APIGatewayRestResolver(enable_validation=True)
"""

PROBE = """
import sys, time
t0 = time.perf_counter()
{body}
elapsed = time.perf_counter() - t0
print(f"{{elapsed:.6f}} {{int('stripe' in sys.modules)}}")
"""


@dataclass(frozen=True)
class ColdStart:
    name: str
    module: str
    seconds: float
    ratio: float
    imports_stripe: bool
    may_import_stripe: bool

    @property
    def breaches(self) -> list[str]:
        out = []
        if self.ratio > BUDGET:
            out.append(f"ratio {self.ratio:.2f} > {BUDGET}")
        if self.imports_stripe and not self.may_import_stripe:
            out.append("imports stripe")
        return out


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'layers/keel/python'}",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_TRACE_DISABLED="true",
    )
    return env


def _once(body: str, env: dict[str, str]) -> tuple[float, bool]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(body=body)], env=env, capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    return float(out[0]), out[1] == "1"


def median_of(body: str, runs: int, env: dict[str, str]) -> tuple[float, bool]:
    samples = [_once(body, env) for _ in range(runs)]
    return statistics.median(s for s, _ in samples), any(stripe for _, stripe in samples)


def compile_sources() -> None:
    for folder in ("functions", "layers/keel/python"):
        compileall.compile_dir(ROOT / folder, quiet=1)
    # Third-party packages were byte-compiled by pip at install time.


def measure(handlers: list[tuple[str, str, bool]], runs: int = 7) -> tuple[float, list[ColdStart]]:
    """``handlers``: (name, module, may import stripe). Returns the floor and one row per handler."""
    compile_sources()
    env = _environment()
    _once(FLOOR, env)  # warm the OS file cache so the first measured process is not penalised
    floor, _ = median_of(FLOOR, runs, env)
    rows = []
    for name, module, may_stripe in handlers:
        seconds, stripe = median_of(f"import {module}", runs, env)
        rows.append(ColdStart(name, module, seconds, seconds / floor, stripe, may_stripe))
    return floor, rows
