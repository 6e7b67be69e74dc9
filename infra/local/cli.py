"""``keel``: run Keel on this machine, and operate the running copy.

    keel dev [--port 8080]            everything in one process: moto, API gateway, pollers, scheduler
    keel trace CORRELATION_ID         what one request caused: events, consumers, emails
    keel jobs list | run NAME         run one scheduled job now
    keel dlq list | redrive QUEUE     inspect dead letters, move them back to their queue
    keel events replay --since ISO    replay the bus archive into the bus
    keel reports rebuild | revenue    rebuild reporting's read models from the archive; the revenue table
    keel migrate [--stage S]          run pending data migrations, locally or in a deployed stage
    keel smoke --url URL | --stage S  black-box checks of a running stage: sign up, each context's path
    keel new context NAME             a new bounded context on the paved road (infra/scaffold)
    keel stripe listen|trigger|advance|chaos|sync   the dev server's Stripe emulator (infra/local/stripe_cli.py)

``keel dev`` writes ``.keel/dev.json`` (its moto endpoint and pid); the other commands use it to
reach the running dev server's moto.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from infra.local.environment import REGION, REPO_ROOT, SettingConflict, applied, local_environment
from infra.topology import LOCAL_STAGE, Topology

if TYPE_CHECKING:
    from infra.local.runtime import DevServerInfo

DEFAULT_TOPOLOGY = "infra.topology:TOPOLOGY"
Say = Callable[[str], None]
DEFAULT_STATE_DIR = REPO_ROOT / ".keel"
_REPLAY_WAIT_SECONDS = 60


class UserError(Exception):
    """Something the person at the keyboard can fix; printed without a traceback."""


def _say(line: str = "") -> None:
    print(line, flush=True)


def load_topology(ref: str, stage: str = LOCAL_STAGE) -> Topology:
    """``package.module:ATTRIBUTE`` -> the ``Topology`` it names, rendered for ``stage`` (``keel dev``'s)."""
    module_name, _, attribute = ref.partition(":")
    try:
        topology = getattr(importlib.import_module(module_name), attribute or "TOPOLOGY")
    except (ImportError, AttributeError) as exc:
        raise UserError(f"cannot load the topology {ref!r}: {exc}") from None
    if not isinstance(topology, Topology):
        raise UserError(f"{ref!r} is a {type(topology).__name__}, not a Topology")
    return topology.for_stage(stage)


def _running(args: argparse.Namespace) -> DevServerInfo | None:
    from infra.local.runtime import DevServerInfo

    return DevServerInfo.read(args.state_dir)


def _require_running(args: argparse.Namespace) -> DevServerInfo:
    info = _running(args)
    if info is None:
        state = args.state_dir / "dev.json"
        raise UserError(f"no dev server is running (nothing live in {state}); start one with: keel dev")
    return info


# -- keel dev -----------------------------------------------------------------------------------


def _quickstart(topology: Topology, api: str) -> list[str]:
    lines = [f"curl -s {api}/health"]
    skip = ("/health", "/docs")
    for route in topology.public_routes:
        if route.method == "GET" and not route.path.startswith(skip) and "{" not in route.path:
            shorten = " | head -c 300; echo" if route.path.endswith(".json") else ""
            lines.append(f"curl -s {api}{route.path}{shorten}")
    lines.append(f'TOKEN=$(curl -s "{api}/_local/token?email=ada@example.com&raw=1")   # a demo user\'s ID token')
    if topology.is_tenantless("POST", "/v1/tenants"):
        lines += [
            f'TENANT=$(curl -s -X POST {api}/v1/tenants -H "Authorization: Bearer $TOKEN" '
            "-H 'Content-Type: application/json' -d '{\"name\": \"Acme\"}' | python3 -c 'import json,sys; "
            'print(json.load(sys.stdin)["id"])\')',
            f'curl -s {api}/v1/members -H "Authorization: Bearer $TOKEN" -H "X-Tenant-Id: $TENANT"',
        ]
    else:
        lines.append(f'curl -s -H "Authorization: Bearer $TOKEN" -H "X-Tenant-Id: <tenant id>" {api}/...')
    lines += [f"curl -s {api}/_local/emails", f"curl -s {api}/_local/dlq"]
    if topology.jobs:
        _ctx, job = topology.jobs[0]
        lines.append(f"keel jobs run {job.name}")
    return lines


def _banner(topology: Topology, api: str) -> None:
    _say()
    for label, url in (
        ("API", api),
        ("API docs", f"{api}/docs"),
        ("OpenAPI", f"{api}/openapi.json"),
        ("Demo token", f"{api}/_local/token?email=ada@example.com"),
        ("Emails sent", f"{api}/_local/emails"),
        ("Traces", f"{api}/_local/traces/<correlation id>  (or: keel trace <correlation id>)"),
        ("Dead letters", f"{api}/_local/dlq"),
        ("Health", f"{api}/health"),
    ):
        _say(f"  {label:<13} {url}")
    _say()
    _say("Quickstart (copy-paste):")
    for line in _quickstart(topology, api):
        _say(f"  {line}")
    _say()
    _say("Press Ctrl-C to stop.")


def _dev(args: argparse.Namespace) -> int:
    from infra.local.runtime import LocalRuntime

    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s  %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stdout,
    )
    logging.getLogger("botocore").setLevel(logging.WARNING)  # "found credentials" on every cold start
    topology = load_topology(args.topology)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    _say("keel dev: starting Keel locally (no AWS account, no Docker)")
    runtime = LocalRuntime(
        topology,
        topology_ref=args.topology,
        host=args.host,
        port=args.port,
        moto_port=args.moto_port,
        state_dir=args.state_dir,
        retry_delay_seconds=args.retry_delay,
        say=_say,
        show=None if args.quiet else _say,
        verbose=args.verbose,
    )
    try:
        runtime.start()
        _banner(topology, runtime.api_url)
        while not stop.wait(0.5):
            pass
        _say("\nkeel dev: stopping ...")
    finally:
        runtime.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _say("keel dev: stopped.")
    return 0


# -- keel trace ---------------------------------------------------------------------------------


def _trace(args: argparse.Namespace) -> int:
    from infra.local.traces import CAPACITY, as_text

    info = _require_running(args)
    url = f"{info.api_url}/_local/traces/{quote(args.correlation_id, safe='')}"
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            chain = json.load(response)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            raise UserError(
                f"keel dev has seen nothing for {args.correlation_id!r} (it keeps the last {CAPACITY} correlation ids)"
            ) from None
        raise
    for line in as_text(chain):
        _say(line)
    return 0


# -- keel jobs ----------------------------------------------------------------------------------


@contextmanager
def _fresh_moto(topology: Topology) -> Iterator[str]:
    """A throwaway moto with the topology provisioned, for commands run without a dev server."""
    from moto.server import ThreadedMotoServer

    from infra.local import moto_patches
    from infra.local.provision import provision
    from infra.local.runtime import aws_clients, free_port, reset_moto

    moto_patches.install()  # the same moto as keel dev's
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        reset_moto(endpoint)
        with applied(local_environment(topology, moto_endpoint=endpoint)):
            provision(topology, aws_clients(endpoint), REGION)
            yield endpoint
    finally:
        server.stop()


def _jobs_list(args: argparse.Namespace) -> int:
    from infra.local.runtime import scheduled_jobs

    info = _running(args)
    jobs = scheduled_jobs(load_topology(info.topology, info.stage) if info else load_topology(args.topology))
    if not jobs:
        _say("The topology has no jobs.")
    for job in jobs:
        _say(f"{job.name:<40} {job.expression:<28} {job.function.handler}")
    return 0


def _jobs_run(args: argparse.Namespace) -> int:
    from infra.local.runtime import find_job
    from infra.local.schedule import run_job

    info = _running(args)
    topology = load_topology(info.topology, info.stage) if info else load_topology(args.topology)
    try:
        job = find_job(topology, args.name)
    except LookupError as exc:
        raise UserError(str(exc.args[0])) from None
    session: AbstractContextManager[object]
    if info is not None:
        _say(f"Running {job.name} against the dev server's moto ({info.moto_endpoint}) ...")
        session = applied(info.environment(topology))
    else:
        _say(f"No dev server is running: running {job.name} against a fresh, empty moto ...")
        session = _fresh_moto(topology)
    started = time.perf_counter()
    with session:
        result = run_job(job, datetime.now(UTC), REGION)
    elapsed = time.perf_counter() - started
    if job.last_result != "ok":
        _say(f"{job.name} failed after {elapsed:.2f} s: {job.last_result}")
        return 1
    _say(
        f"{job.name} finished in {elapsed:.2f} s"
        + (f": {json.dumps(result, default=str)}" if result is not None else ".")
    )
    return 0


# -- keel dlq -----------------------------------------------------------------------------------


def _dlq_list(args: argparse.Namespace) -> int:
    from infra.local.dlq import dead_letter_queues
    from infra.local.runtime import aws_clients

    info = _require_running(args)
    sqs = aws_clients(info.moto_endpoint).sqs
    queues = dead_letter_queues(load_topology(info.topology, info.stage))
    if not queues:
        _say("The topology has no subscriptions, so no dead-letter queues.")
    for dlq in queues:
        url = sqs.get_queue_url(QueueName=dlq.dlq_name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        _say(f"{dlq.dlq_name:<60} {attributes['Attributes']['ApproximateNumberOfMessages']:>6} messages")
    return 0


def _dlq_redrive(args: argparse.Namespace) -> int:
    from infra.local.dlq import UnknownQueue, find_dead_letter_queue, redrive
    from infra.local.runtime import aws_clients

    info = _require_running(args)
    try:
        dlq = find_dead_letter_queue(load_topology(info.topology, info.stage), args.queue)
    except UnknownQueue as exc:
        raise UserError(str(exc.args[0])) from None
    moved = redrive(aws_clients(info.moto_endpoint).sqs, dlq)
    _say(f"Moved {moved} message{'s' if moved != 1 else ''} from {dlq.dlq_name} back to {dlq.queue_name}.")
    return 0


# -- keel events --------------------------------------------------------------------------------


def _timestamp(text: str, option: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UserError(f"{option} {text!r} is not an ISO-8601 time, e.g. 2026-11-22T06:00:00Z") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _events_replay(args: argparse.Namespace) -> int:
    from infra.local.runtime import aws_clients

    since = _timestamp(args.since, "--since")
    until = _timestamp(args.until, "--until") if args.until else datetime.now(UTC)
    if since >= until:
        raise UserError(f"--since ({since.isoformat()}) must be before --until ({until.isoformat()})")
    info = _require_running(args)
    topology = load_topology(info.topology, info.stage)
    events = aws_clients(info.moto_endpoint).events
    archive = events.describe_archive(ArchiveName=topology.archive_name)
    name = f"keel-replay-{int(time.time() * 1000)}"
    events.start_replay(
        ReplayName=name,
        EventSourceArn=archive["ArchiveArn"],
        EventStartTime=since,
        EventEndTime=until,
        Destination={"Arn": archive["EventSourceArn"]},
    )
    deadline = time.monotonic() + _REPLAY_WAIT_SECONDS
    state = "STARTING"
    while state in ("STARTING", "RUNNING") and time.monotonic() < deadline:
        state = events.describe_replay(ReplayName=name)["State"]
        if state in ("STARTING", "RUNNING"):
            time.sleep(0.2)
    archived = archive.get("EventCount", "?")
    _say(f"Replay {name} of {archive['ArchiveName']} ({archived} archived events): {state}.")
    _say(
        "Note: the local emulator (moto 5.2.5) replays every archived event and ignores the time window; "
        "consumers are idempotent, so the extra deliveries are harmless."
    )
    return 0 if state == "COMPLETED" else 1


# -- keel reports -------------------------------------------------------------------------------


def _reports_target(args: argparse.Namespace) -> tuple[Topology, Any]:
    """The topology and clients of a deployed stage (``--stage``: the caller's AWS credentials), or of
    the running ``keel dev``."""
    import boto3

    from infra.reports import Clients

    if args.stage:
        topology = load_topology(args.topology, args.stage)
        return topology, Clients(boto3.client("dynamodb"), boto3.client("events"), boto3.client("sqs"))
    info = _require_running(args)
    from infra.local.runtime import aws_clients

    local = aws_clients(info.moto_endpoint)
    return load_topology(info.topology, info.stage), Clients(local.dynamodb, local.events, local.sqs)


def _bar(done: int, total: int, width: int = 30) -> str:
    filled = width if total <= 0 else min(width, done * width // total)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} events"


def _reports_rebuild(args: argparse.Namespace) -> int:
    from functions.reporting.adapters.versions import RebuildRefused
    from infra.reports import RebuildFailed, rebuild

    since = _timestamp(args.since, "--since") if args.since else None
    topology, clients = _reports_target(args)
    say, show = _progress_printer()
    say("Rebuilding reporting's read models from the bus archive" + (f" since {since.isoformat()}" if since else ""))
    try:
        version = rebuild(topology, clients, since=since, progress=lambda done, total: show(_bar(done, total)))
    except (RebuildFailed, RebuildRefused) as exc:
        say(f"Rebuild abandoned: {exc}. Reads keep the version they use.")
        return 1
    say(f"Reads now use model version {version} (the previous version's items are kept).")
    return 0


def _reports_revenue(args: argparse.Namespace) -> int:
    from infra.reports import revenue_report, revenue_table

    now = datetime.now(UTC)
    last = args.to or now.strftime("%Y-%m")
    first = getattr(args, "from") or f"{now.year - 1:04d}-{now.month:02d}"
    topology, clients = _reports_target(args)
    for line in revenue_table(revenue_report(topology, clients.dynamodb, first=first, last=last)):
        _say(line)
    return 0


# -- keel migrate -------------------------------------------------------------------------------


def _progress_printer() -> tuple[Callable[[str], None], Callable[[str], None]]:
    """``say`` (a line that stays) and ``show`` (a progress line redrawn in place, on a terminal only)."""
    live = sys.stdout.isatty()

    def say(line: str) -> None:
        _say(f"\r\033[K{line}" if live else line)

    def show(line: str) -> None:
        if live:
            print(f"\r\033[K{line}", end="", flush=True)

    return say, show


def _migrate(args: argparse.Namespace) -> int:
    from infra.local import migrate

    say, show = _progress_printer()
    try:
        if args.stage:
            topology = load_topology(args.topology, args.stage)
            contexts = migrate.contexts_to_migrate(topology, args.context)
            import boto3

            _say(f"Migrating stage {args.stage} through its migration functions ...")
            invoke = migrate.lambda_invoker(boto3.client("lambda"))
            report = migrate.run_remote(contexts, invoke=invoke, dry_run=args.dry_run, say=say, show=show)
        else:
            report = _migrate_here(args, migrate, say, show)
    except LookupError as exc:
        raise UserError(str(exc.args[0])) from None
    except migrate.MigrationFailed as exc:
        _say(f"keel migrate: failed: {exc}")
        _say("What it finished is recorded; run it again to resume once the cause is fixed.")
        return 1
    verb = "would touch" if args.dry_run else "touched"
    _say(f"{len(report.runs)} migration(s) run, {report.touched:,} items {verb}.")
    return 0


def _migrate_here(args: argparse.Namespace, migrate: ModuleType, say: Say, show: Say) -> Any:
    from infra.local.runtime import aws_clients

    info = _running(args)
    topology = load_topology(info.topology, info.stage) if info else load_topology(args.topology)
    contexts = migrate.contexts_to_migrate(topology, args.context)
    if info is not None:
        _say(f"Migrating against the dev server's moto ({info.moto_endpoint}) ...")
        with applied(info.environment(topology)):
            client = aws_clients(info.moto_endpoint).dynamodb
            return migrate.run_here(topology, contexts, client=client, dry_run=args.dry_run, say=say, show=show)
    _say("No dev server is running: migrating a fresh, empty moto ...")
    with _fresh_moto(topology) as endpoint:
        client = aws_clients(endpoint).dynamodb
        return migrate.run_here(topology, contexts, client=client, dry_run=args.dry_run, say=say, show=show)


# -- keel smoke ---------------------------------------------------------------------------------


def _smoke(args: argparse.Namespace) -> int:
    from infra import smoke

    topology = load_topology(args.topology, args.stage or LOCAL_STAGE)
    tokens: smoke.TokenSource
    if args.stage:
        url, tokens = _deployed_stage(topology)
    else:
        url, tokens = args.url, smoke.LocalTokens(smoke.Http(args.url))
    if args.token_command:
        tokens = smoke.CommandTokens(args.token_command)
    session = smoke.Session(smoke.Http(url), tokens, topology)
    _say(f"keel smoke: {url} (run {session.run_id})")
    report = smoke.run(session, say=_say)
    failed = [o for o in report.outcomes if o.error]
    for left in report.left:
        _say(f"  left behind: {left}")
    if failed:
        _say(f"keel smoke: FAILED: {len(failed)} of {len(report.outcomes)} steps")
        for outcome in failed:
            _say(f"  {outcome.context} / {outcome.step}: {outcome.error}")
        return 1
    _say(f"keel smoke: passed: {len(report.outcomes)} steps")
    return 0


def _deployed_stage(topology: Topology) -> tuple[str, Any]:
    """The stage's API URL and a token source on its user pool's smoke client, from its stacks' outputs."""
    import boto3

    from infra import smoke

    cloudformation = boto3.client("cloudformation")

    def outputs(stack: str) -> dict[str, str]:
        try:
            (described,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
        except cloudformation.exceptions.ClientError as exc:
            raise UserError(f"cannot read the stack {stack}: {exc}") from None
        return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}

    (pool, client), (url,) = (
        [outputs(stack)[key] for key in keys] for stack, keys in smoke.stack_outputs(topology).items()
    )
    return url, smoke.CognitoTokens(pool, client, boto3.client("cognito-idp"))


# -- keel new -----------------------------------------------------------------------------------


def _new_context(args: argparse.Namespace) -> int:
    from infra import scaffold
    from infra.topology import TOPOLOGY

    try:
        names = scaffold.create(args.name, entity=args.entity, root=REPO_ROOT, topology=TOPOLOGY, say=_say)
    except scaffold.Refused as exc:
        raise UserError(f"cannot create the context: {exc}") from None
    _say()
    for line in scaffold.next_steps(names):
        _say(line)
    return 0


# -- keel stripe --------------------------------------------------------------------------------


def _stripe_url(args: argparse.Namespace) -> tuple[DevServerInfo, str]:
    info = _require_running(args)
    if not info.stripe_url:
        raise UserError("the dev server runs no Stripe emulator (no context of its topology uses Stripe)")
    return info, info.stripe_url


def _stripe(args: argparse.Namespace) -> int:
    from infra.local import stripe_cli

    info, url = _stripe_url(args)
    try:
        if args.stripe_command == "listen":
            try:
                return stripe_cli.listen(url, _say, once=args.once)
            except KeyboardInterrupt:
                return 0
        if args.stripe_command == "trigger":
            return stripe_cli.trigger(url, args.scenario, args.tenant, _say)
        if args.stripe_command == "advance":
            return stripe_cli.advance(url, args.days, args.tenant, _say)
        if args.stripe_command == "chaos":
            return stripe_cli.chaos(url, args.state == "on", _say)
        topology = load_topology(info.topology)
        return stripe_cli.sync(topology, info.environment(topology), args.tenant, _say)
    except stripe_cli.StripeCommandError as exc:
        raise UserError(str(exc)) from None


# -- the parser ---------------------------------------------------------------------------------


def _stripe_parser(commands: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """`keel stripe ACTION`: the dev server's Stripe emulator (infra/local/stripe_cli.py)."""
    stripe: argparse.ArgumentParser = commands.add_parser(
        "stripe",
        help="the dev server's local Stripe: deliveries, scenarios, time travel, chaos, repair",
        description="The local Stripe emulator keel dev runs (see infra/local/stripe_cli.py).",
    )
    stripe_commands = stripe.add_subparsers(dest="stripe_command", metavar="ACTION")
    listen = stripe_commands.add_parser("listen", parents=[common], help="print every webhook delivery (Ctrl-C stops)")
    listen.add_argument("--once", action="store_true", help="print the deliveries so far and stop")
    trigger = stripe_commands.add_parser(
        "trigger",
        parents=[common],
        help="make Stripe emit a scenario's events",
        description="Scenarios: invoice.payment_failed, invoice.paid, charge.dispute.created, "
        "customer.subscription.trial_will_end (for the tenant's Stripe customer, or the newest one).",
    )
    trigger.add_argument("scenario", help="e.g. invoice.payment_failed")
    advance = stripe_commands.add_parser(
        "advance", parents=[common], help="move a tenant's test clock (or every clock) on: renewals, retries"
    )
    advance.add_argument("--days", type=float, required=True, help="how many days, e.g. 31")
    chaos = stripe_commands.add_parser("chaos", parents=[common], help="deliver every event twice, shuffled")
    chaos.add_argument("state", choices=["on", "off"])
    sync = stripe_commands.add_parser(
        "sync", parents=[common], help="compare tenants with Stripe and repair them (with a progress bar)"
    )
    for command in (trigger, advance, sync):
        command.add_argument("--tenant", help="one tenant's id (default: every tenant / the newest customer)")
    for command in (listen, trigger, advance, chaos, sync):
        command.set_defaults(run=_stripe)
    return stripe


def _shipping_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """``keel migrate`` and ``keel smoke``: what a deploy runs, and what a person can run by hand."""
    migrate = commands.add_parser(
        "migrate",
        parents=[common],
        help="run pending data migrations (functions/<context>/migrations), locally or in a deployed stage",
        description="Run each context's pending data migrations in order, resuming any that stopped. Without "
        "--stage: in this process, against the running 'keel dev' (or a fresh moto). With --stage: in the stage's "
        "migration functions, one batch of pages per invocation (needs lambda:InvokeFunction only).",
    )
    migrate.add_argument("--stage", help="a deployed stage (its functions are keel-<stage>-<context>-migrate)")
    migrate.add_argument("--context", help="only this context's migrations")
    migrate.add_argument("--dry-run", action="store_true", help="count what would change; change nothing")
    migrate.set_defaults(run=_migrate)

    smoke_test = commands.add_parser(
        "smoke",
        parents=[common],
        help="black-box checks of a running stage: a throwaway tenant walks each context's main path",
        description="Sign up a throwaway user and tenant, run each context's smoke steps (infra/smoke/steps) or "
        "what the topology says about it, clean up, and exit non-zero with a report on any failure. "
        "--url needs --token-command except against 'keel dev'; --stage finds the URL and signs users in "
        "through the stage's smoke client (AWS credentials for CloudFormation and Cognito admin calls).",
    )
    target = smoke_test.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="the API, e.g. http://127.0.0.1:8080 or https://<id>.execute-api.<region>...")
    target.add_argument("--stage", help="a deployed stage: its API and user pool from its stacks' outputs")
    smoke_test.add_argument(
        "--token-command",
        help="prints an ID token for the address in KEEL_SMOKE_EMAIL (and deletes that user when "
        "KEEL_SMOKE_FORGET=1 is also set)",
    )
    smoke_test.set_defaults(run=_smoke)


def _reports_parser(commands: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``keel reports rebuild`` and ``keel reports revenue``."""
    reports: argparse.ArgumentParser = commands.add_parser(
        "reports", help="reporting's read models", description="Reporting."
    )
    reports_commands = reports.add_subparsers(dest="reports_command", metavar="ACTION")
    rebuild = reports_commands.add_parser(
        "rebuild",
        parents=[common],
        help="rebuild the read models from the bus archive into a new version, then switch reads to it",
        description="Replay the bus archive into reporting's rebuild queue, build a new model version from it "
        "(with a progress bar), then switch reads to it in one write; the old version is kept. Against the "
        "running 'keel dev', or a deployed stage with --stage (AWS credentials).",
    )
    rebuild.add_argument("--since", help="ISO-8601 start of the replay (default: the whole archive)")
    rebuild.add_argument("--stage", help="a deployed stage (default: the running 'keel dev')")
    rebuild.set_defaults(run=_reports_rebuild)
    revenue = reports_commands.add_parser(
        "revenue",
        parents=[common],
        help="the revenue report as a table, a sparkline of MRR per row",
        description="MRR, ARR and their movements per month and currency, refunds and credit notes.",
    )
    revenue.add_argument("--from", help="first month, YYYY-MM (default: a year ago)")
    revenue.add_argument("--to", help="last month, YYYY-MM (default: this month)")
    revenue.add_argument("--stage", help="a deployed stage (default: the running 'keel dev')")
    revenue.set_defaults(run=_reports_revenue)

    return reports


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keel",
        description="Run Keel on this machine (no AWS account, no Docker) and operate the running copy.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help=f"where 'keel dev' records its moto endpoint (default: {DEFAULT_STATE_DIR})",
    )
    common.add_argument(
        "--topology",
        default=DEFAULT_TOPOLOGY,
        help=f"the topology to run, as module:ATTRIBUTE (default: {DEFAULT_TOPOLOGY}); "
        "other commands use the running dev server's",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    dev = commands.add_parser(
        "dev",
        parents=[common],
        help="run everything locally: moto, the API gateway, pollers and the scheduler",
        description="Start moto, provision the topology, and serve the API on 127.0.0.1. Ctrl-C stops.",
    )
    dev.add_argument("--port", type=int, default=8080, help="the API gateway's port (default: 8080)")
    dev.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)")
    dev.add_argument("--moto-port", type=int, default=0, help="moto's port (default: a free one)")
    dev.add_argument(
        "--retry-delay",
        type=int,
        default=2,
        metavar="SECONDS",
        help="how soon a message a consumer failed is delivered again (default: 2)",
    )
    dev.add_argument("--quiet", action="store_true", help="warnings only: no line per request or event")
    dev.add_argument(
        "--verbose", action="store_true", help="the handlers' own JSON logs and EMF metrics too (default: warnings)"
    )
    dev.set_defaults(run=_dev)

    trace = commands.add_parser(
        "trace",
        parents=[common],
        help="what one request caused: its events, their consumers, the emails sent",
        description="Print the chain a correlation id caused (needs 'keel dev'; X-Correlation-Id of a "
        "response, or the id its console line shows).",
    )
    trace.add_argument("correlation_id", help="the correlation id (X-Correlation-Id of the response)")
    trace.set_defaults(run=_trace)

    jobs = commands.add_parser("jobs", help="list or run scheduled jobs", description="Scheduled jobs.")
    jobs_commands = jobs.add_subparsers(dest="jobs_command", metavar="ACTION")
    jobs_list = jobs_commands.add_parser("list", parents=[common], help="list the jobs and their schedules")
    jobs_list.set_defaults(run=_jobs_list)
    jobs_run = jobs_commands.add_parser(
        "run",
        parents=[common],
        help="run one job now",
        description="Run one job's handler once with a Scheduled Event, against the running dev server's "
        "moto (or, without one, against a fresh in-process moto).",
    )
    jobs_run.add_argument("name", help="the job's name, or context/name")
    jobs_run.set_defaults(run=_jobs_run)

    dlq = commands.add_parser("dlq", help="inspect and redrive dead letters", description="Dead letters.")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", metavar="ACTION")
    dlq_list = dlq_commands.add_parser("list", parents=[common], help="every DLQ with its message count")
    dlq_list.set_defaults(run=_dlq_list)
    dlq_redrive = dlq_commands.add_parser(
        "redrive",
        parents=[common],
        help="move a DLQ's messages back to its source queue",
        description="Move every message of a dead-letter queue back to the queue it came from "
        "(needs a running 'keel dev').",
    )
    dlq_redrive.add_argument("queue", help="the DLQ's name, its source queue's, or its subscription's")
    dlq_redrive.set_defaults(run=_dlq_redrive)

    events = commands.add_parser("events", help="replay archived events", description="The event bus.")
    events_commands = events.add_subparsers(dest="events_command", metavar="ACTION")
    replay = events_commands.add_parser(
        "replay",
        parents=[common],
        help="replay the bus archive into the bus",
        description="Replay archived events into the bus (needs 'keel dev'); consumers are idempotent.",
    )
    replay.add_argument("--since", required=True, help="ISO-8601 start, e.g. 2026-11-22T06:00:00Z")
    replay.add_argument("--until", help="ISO-8601 end (default: now)")
    replay.set_defaults(run=_events_replay)

    reports = _reports_parser(commands, common)
    _shipping_parsers(commands, common)

    new = commands.add_parser("new", help="add to the platform on the paved road", description="Scaffolding.")
    new_commands = new.add_subparsers(dest="new_command", metavar="WHAT")
    new_context = new_commands.add_parser(
        "context",
        help="a new bounded context: code, tests, topology entry, bench scenario, event contract",
        description="Write functions/NAME (handlers, views, wiring, settings, domain, table adapter), its "
        "unit and integration tests, infra/contexts/NAME.py, bench/scenarios/NAME.py and the contract of "
        "its example event; then regenerate docs/openapi.json and events/schemas/. Every file is listed.",
    )
    new_context.add_argument("name", help="lowercase letters, digits and underscores, e.g. projects")
    new_context.add_argument(
        "--entity", help="the example entity (default: NAME in the singular, e.g. project, or NAME_item)"
    )
    new_context.set_defaults(run=_new_context)

    stripe = _stripe_parser(commands, common)

    for group in (parser, jobs, dlq, events, reports, new, stripe):
        group.set_defaults(usage=group.print_help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        args.usage(sys.stderr)
        return 2
    from infra.local.moto_patches import MotoVersionMismatch
    from infra.local.runtime import PortInUse
    from infra.local.schedule import ScheduleError

    try:
        return int(args.run(args))
    except (UserError, PortInUse, ScheduleError, SettingConflict, MotoVersionMismatch) as exc:
        print(f"keel: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
