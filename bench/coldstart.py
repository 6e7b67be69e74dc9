"""Cold start: each handler's import + init in a fresh interpreter, as a ratio to the floor.

The floor is what every API handler needs anyway: boto3 + Powertools + pydantic + a validating
``APIGatewayRestResolver``, imported in the same run, the same way. Bytecode is compiled first so
the numbers are not dominated by compilation. Handlers and floor are measured interleaved
(floor, handler, floor, handler, ...), each handler sample against the floor samples just around
it, so that a machine busy with other work slows both sides of a ratio alike.
"""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
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


def compile_sources() -> None:
    for folder in ("functions", "layers/keel/python"):
        compileall.compile_dir(ROOT / folder, quiet=1)
    # Third-party packages were byte-compiled by pip at install time.


@dataclass(frozen=True)
class Interleaved:
    """One subject's samples, each paired with the floor measured just before and just after it."""

    samples: list[float]
    floors: list[float]

    @property
    def seconds(self) -> float:
        return statistics.median(self.samples)

    @property
    def floor(self) -> float:
        return statistics.median(self.floors)

    @property
    def ratio(self) -> float:
        """The median of each sample over the floor around it: noise that hits both cancels out."""
        return statistics.median(s / f for s, f in zip(self.samples, self.floors, strict=True))


def interleave(floor: Callable[[], float], subjects: Sequence[Callable[[], float]], rounds: int) -> list[Interleaved]:
    """Run ``floor, s1, floor, s2, floor, ... sN, floor`` and so on for ``rounds`` rounds (one floor
    between any two samples); each sample is compared with the mean of the two floors around it."""
    samples: list[list[float]] = [[] for _ in subjects]
    floors: list[list[float]] = [[] for _ in subjects]
    before = floor()
    for _ in range(rounds):
        for i, subject in enumerate(subjects):
            sample = subject()
            after = floor()
            samples[i].append(sample)
            floors[i].append((before + after) / 2)
            before = after
    return [Interleaved(s, f) for s, f in zip(samples, floors, strict=True)]


def measure(handlers: list[tuple[str, str, bool]], runs: int = 7) -> tuple[float, list[ColdStart]]:
    """``handlers``: (name, module, may import stripe). Returns the floor (median of every floor sample)
    and one row per handler, each measured interleaved with the floor (``interleave``). A handler that
    may use Stripe is measured against the floor plus ``import stripe``."""
    compile_sources()
    env = _environment()
    _once(FLOOR, env)  # warm the OS file cache so the first measured process is not penalised
    rows: dict[str, ColdStart] = {}
    floor_samples: list[float] = []
    stripe_seen: dict[str, bool] = {}
    for may_stripe, floor_body in ((False, FLOOR), (True, FLOOR + "import stripe\n")):
        group = [h for h in handlers if h[2] is may_stripe]
        if not group:
            continue

        def subject(name: str, module: str) -> Callable[[], float]:
            def sample() -> float:
                seconds, stripe = _once(f"import {module}", env)
                stripe_seen[name] = stripe_seen.get(name, False) or stripe
                return seconds

            return sample

        results = interleave(
            lambda body=floor_body: _once(body, env)[0], [subject(n, m) for n, m, _ in group], rounds=runs
        )
        for (name, module, _), result in zip(group, results, strict=True):
            floor_samples += result.floors
            rows[name] = ColdStart(name, module, result.seconds, result.ratio, stripe_seen[name], may_stripe)
    return statistics.median(floor_samples), [rows[name] for name, _, _ in handlers]
