"""``keel migrate``: run each context's pending data migrations, with a progress bar.

Locally (no ``--stage``) the migrations run in this process against the running ``keel dev``'s moto, or
a fresh one. Against a deployed stage they run in the stage's own migration function, invoked once per
batch of pages (``keel.migrate``): this machine needs ``lambda:InvokeFunction`` on it and nothing on
the table. Either way they resume where they stopped, and a finished one is never run again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from infra.model import Context, Topology
from keel.migrate import MAX_PAGES
from keel.migrations import Progress, Runner, Status

#: Pages one invocation of a stage's migration function applies before reporting back.
PAGES_PER_BATCH = 20
_BAR_WIDTH = 30

Say = Callable[[str], None]
#: Calls a stage's migration function with an event and returns its answer (``keel.migrate``).
Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]


class MigrationFailed(RuntimeError):
    """A migration stopped with an error; what it committed stays, and a run resumes from there."""


def bar(done: int, total: int) -> str:
    """``[#######.......]  512/1,024 items``; the total is DynamoDB's estimate, so it may be passed."""
    total = max(total, done, 1)
    filled = round(_BAR_WIDTH * done / total)
    return f"[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {done:>7,}/{total:,} items"


def contexts_to_migrate(topology: Topology, only: str | None) -> list[Context]:
    """The contexts with a table (only ``only``, when named): ``LookupError`` for an unknown one."""
    with_table = [ctx for ctx in topology.contexts if ctx.table]
    if only is None:
        return with_table
    chosen = [ctx for ctx in with_table if ctx.name == only]
    if not chosen:
        raise LookupError(f"no context with a table is called {only!r}: {', '.join(c.name for c in with_table)}")
    return chosen


@dataclass
class Report:
    """What one ``keel migrate`` did, per migration: ``(context, id, progress)``."""

    runs: list[tuple[str, str, Progress]]

    @property
    def touched(self) -> int:
        return sum(progress.touched for _, _, progress in self.runs)


def _line(ctx: Context, migration_id: str, progress: Progress, estimate: int, dry_run: bool) -> str:
    verb = "would touch" if dry_run else "touched"
    return f"  {ctx.name}/{migration_id}  {bar(progress.scanned, estimate)}  {verb} {progress.touched:,}"


def run_here(
    topology: Topology,
    contexts: Sequence[Context],
    *,
    client: Any,
    dry_run: bool,
    say: Say,
    show: Say,
) -> Report:
    """Run the pending migrations of ``contexts`` in this process with ``client`` (a DynamoDB client).
    ``say`` prints a line; ``show`` redraws the progress line in place."""
    runs = []
    for ctx in contexts:
        runner = Runner(ctx.table_name, ctx.migrations_package, client=client)
        pending = [s for s in runner.status() if s.state != "finished"]
        _announce(ctx, runner.status(), pending, say)
        estimate = runner.estimated_items()
        for status in pending:

            def on_page(
                progress: Progress, ctx: Context = ctx, migration_id: str = status.id, total: int = estimate
            ) -> None:
                show(_line(ctx, migration_id, progress, total, dry_run))

            try:
                progress = runner.run(status.id, dry_run=dry_run, on_page=on_page)
            except Exception as exc:
                raise MigrationFailed(f"{ctx.name}/{status.id}: {type(exc).__name__}: {exc}") from exc
            say(_line(ctx, status.id, progress, estimate, dry_run) + ("  (dry run)" if dry_run else "  finished"))
            runs.append((ctx.name, status.id, progress))
    return Report(runs)


def run_remote(
    contexts: Sequence[Context],
    *,
    invoke: Invoke,
    dry_run: bool,
    say: Say,
    show: Say,
    pages_per_batch: int = PAGES_PER_BATCH,
) -> Report:
    """Run the pending migrations of ``contexts`` in their stage's migration functions, one batch of
    ``pages_per_batch`` pages per invocation, until each is finished."""
    runs = []
    for ctx in contexts:
        function = ctx.migrations_function_name
        answer = invoke(function, {"action": "status"})
        statuses = [Status(**{k: v for k, v in s.items() if k != "state"}) for s in answer["migrations"]]
        pending = [s for s in statuses if s.state != "finished"]
        estimate = int(answer.get("estimated_items", 0))
        _announce(ctx, statuses, pending, say)
        for status in pending:
            total = Progress(status.id, 0, 0, False, 0)
            finished = False
            while not finished:
                # A dry run records no cursor: it must read everything in one invocation.
                pages = MAX_PAGES if dry_run else pages_per_batch
                event = {"action": "run", "migration": status.id, "pages": pages, "dry_run": dry_run}
                batch = Progress(**invoke(function, event))
                total = Progress(
                    status.id,
                    total.scanned + batch.scanned,
                    total.touched + batch.touched,
                    batch.finished,
                    total.pages + batch.pages,
                )
                show(_line(ctx, status.id, total, estimate, dry_run))
                finished = batch.finished
                if dry_run and not finished:
                    raise MigrationFailed(
                        f"{ctx.name}/{status.id}: a dry run reads everything in one invocation; the table is "
                        f"too large for that (read {total.scanned:,} items): run it for real, or locally"
                    )
            say(_line(ctx, status.id, total, estimate, dry_run) + ("  (dry run)" if dry_run else "  finished"))
            runs.append((ctx.name, status.id, total))
    return Report(runs)


def _announce(ctx: Context, statuses: Sequence[Status], pending: Sequence[Status], say: Say) -> None:
    finished = len(statuses) - len(pending)
    say(f"{ctx.name}: {len(statuses)} migration(s), {finished} finished, {len(pending)} to run")


def lambda_invoker(client: Any) -> Invoke:
    """``invoke`` through a boto3 Lambda client: the function's answer, or ``MigrationFailed`` with its error."""

    def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
        response = client.invoke(FunctionName=function, Payload=json.dumps(event).encode())
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            message = payload.get("errorMessage", payload) if isinstance(payload, dict) else payload
            raise MigrationFailed(f"{function}: {message}")
        if not isinstance(payload, dict):
            raise MigrationFailed(f"{function} answered {payload!r}")
        return payload

    return invoke
