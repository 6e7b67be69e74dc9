"""``LocalRuntime``: the whole platform in one process, rendered from the topology.

moto's ``ThreadedMotoServer`` (provisioned from the topology), the local API Gateway, one poller
per consumer queue and per table stream, and the scheduler. ``start()`` brings it up in that order,
``stop()`` takes it down in reverse; both are safe to call from tests.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from infra.local import dlq, moto_apigateway, moto_patches, moto_ses, moto_state
from infra.local.authorizer import AuthorizerGate
from infra.local.environment import REGION, EnvironmentOverlay, local_environment
from infra.local.gateway import GatewayServer, LocalApi
from infra.local.lambdas import LocalFunction
from infra.local.pollers import BackgroundLoop, QueuePoller, StreamPoller, stop_all
from infra.local.provision import AwsClients, Provisioned, provision
from infra.local.push import FCM_PREFIX, PushEmulator
from infra.local.schedule import ScheduledJob, Scheduler, parse_schedule, utc_now
from infra.local.shapes import ACCOUNT_ID
from infra.local.shapes import API_ID as LOCAL_API_ID
from infra.local.throttle import TenantThrottle, UsagePlanLimits
from infra.local.traces import RequestSeen, Traces, emails_seen, watching
from infra.topology import AUTHORIZER_CACHE_SECONDS, LOCAL_STAGE, TOPOLOGY, Topology

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp.type_defs import AttributeTypeTypeDef
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_sqs import SQSClient

    from infra.local.stripe import StripeEmulator

log = logging.getLogger("keel.local")

#: API Gateway's integration timeout; an API function cannot run longer behind it.
API_TIMEOUT_SECONDS = 29
STATE_FILE = "dev.json"
#: Unless ``keel dev --verbose``: the handlers' JSON logs warnings only and no EMF (the console shows what happens).
QUIET_HANDLERS = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
#: Every local user's password (the local IdP is for development only).
LOCAL_PASSWORD = "Keel-local-1!"  # noqa: S105 - a fixed, documented local-only password
#: The local Stripe emulator's key and webhook signing secret (any ``sk_test_`` key works there).
LOCAL_STRIPE_KEY = "sk_test_keel_local"
LOCAL_STRIPE_WEBHOOK_SECRET = "whsec_keel_local_not_a_secret"  # noqa: S105 - local only, documented


class PortInUse(OSError):
    """The port asked for is taken."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _ensure_free(host: str, port: int, what: str) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise PortInUse(f"port {port} on {host} is in use ({what}); choose another") from None


def reset_moto(endpoint: str) -> None:
    """Empty every moto backend: they are process-wide, so an earlier server's state would leak."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=5):
        pass


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# -- the functions of a topology ----------------------------------------------------------------


def api_functions(topology: Topology, region: str = REGION) -> dict[str, LocalFunction]:
    """Each context's API function (by context name) and each endpoint's (by its function's name)."""
    functions = {
        ctx.name: LocalFunction(
            ctx.api_function_name, ctx.api_handler, region=region, timeout_seconds=API_TIMEOUT_SECONDS
        )
        for ctx in topology.contexts
        if ctx.api_handler
    }
    for ctx, endpoint in topology.endpoints:
        name = ctx.endpoint_function_name(endpoint)
        functions[name] = LocalFunction(name, endpoint.handler, region=region, timeout_seconds=endpoint.timeout_seconds)
    return functions


def scheduled_jobs(topology: Topology, region: str = REGION) -> list[ScheduledJob]:
    """Every job of the topology, its schedule parsed (a bad expression raises ``ScheduleError``)."""
    return [
        ScheduledJob(
            name=f"{ctx.name}/{job.name}",
            function=LocalFunction(ctx.rule_name(job), job.handler, region=region, timeout_seconds=job.timeout_seconds),
            schedule=parse_schedule(job.schedule),
            expression=job.schedule,
            rule_arn=f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{ctx.rule_name(job)}",
        )
        for ctx, job in topology.jobs
    ]


def find_job(topology: Topology, name: str, region: str = REGION) -> ScheduledJob:
    """A job by ``name`` or ``context/name``; ``LookupError`` lists the known ones."""
    jobs = scheduled_jobs(topology, region)
    matches = [job for job in jobs if name in (job.name, job.name.split("/", 1)[1])]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(job.name for job in jobs) or "none (the topology has no jobs)"
    raise LookupError(f"no single job called {name!r}; known: {known}")


def aws_clients(endpoint: str, region: str = REGION) -> AwsClients:
    """boto3 clients on ``endpoint`` with fake credentials (independent of ``os.environ``)."""
    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
        region_name=region,
    )
    # One client per service, shared by every poller thread (boto3 clients are thread-safe).
    config = Config(max_pool_connections=64, retries={"mode": "standard", "max_attempts": 3})
    return AwsClients.made_by(
        lambda service: session.client(service, endpoint_url=endpoint, config=config)  # type: ignore[call-overload]
    )


@dataclass(frozen=True)
class DevServerInfo:
    """What ``keel dev`` writes to ``.keel/dev.json`` so that other commands can find it."""

    pid: int
    api_url: str
    moto_endpoint: str
    region: str
    topology: str
    started_at: str
    #: The local IdP's settings, so that commands run handlers with the dev server's environment.
    identity_provider: dict[str, str] = field(default_factory=dict)
    #: The API whose authorizer cache identity flushes (the one standing for the gateway), likewise.
    authorizer_cache: dict[str, str] = field(default_factory=dict)
    #: The local Stripe emulator's URL and the settings that point the Stripe contexts at it.
    stripe_url: str | None = None
    stripe: dict[str, str] = field(default_factory=dict)
    #: The stage its names are rendered for.
    stage: str = LOCAL_STAGE
    #: Where identity keeps tenants' usage keys (the usage plans made on moto) and the shared key.
    usage_plans: dict[str, str] = field(default_factory=dict)

    def environment(self, topology: Topology) -> dict[str, str]:
        """The environment the dev server's handlers run with."""
        return (
            local_environment(
                topology.for_stage(self.stage),
                moto_endpoint=self.moto_endpoint,
                region=self.region,
                identity_provider=self.identity_provider,
                authorizer_cache=self.authorizer_cache,
                stripe=self.stripe,
            )
            | self.usage_plans
        )

    @classmethod
    def read(cls, state_dir: Path) -> DevServerInfo | None:
        """The running dev server's info, or ``None`` when there is none (or it is gone)."""
        try:
            info = cls(**json.loads((state_dir / STATE_FILE).read_text()))
        except (OSError, ValueError, TypeError):
            return None
        host_port = info.moto_endpoint.rsplit("//", 1)[-1]
        host, _, port = host_port.partition(":")
        return info if port.isdigit() and _listening(host, int(port)) else None


# -- the runtime --------------------------------------------------------------------------------


class LocalRuntime:
    """Keel on one machine: ``with LocalRuntime() as runtime: ...`` or ``start()`` / ``stop()``."""

    def __init__(
        self,
        topology: Topology = TOPOLOGY,
        *,
        topology_ref: str = "infra.topology:TOPOLOGY",
        host: str = "127.0.0.1",
        port: int = 8080,
        moto_port: int = 0,
        state_dir: Path | None = None,
        retry_delay_seconds: int = 2,
        region: str = REGION,
        say: Callable[[str], None] = lambda _line: None,
        clock: Callable[[], datetime] = utc_now,
        show: Callable[[str], None] | None = None,
        verbose: bool = False,
        stripe_port: int = 0,
    ) -> None:
        """``say``: the start-up lines; ``show``: one line per request and per event while it runs;
        ``verbose``: the handlers' own JSON logs and EMF metrics too (otherwise warnings only)."""
        # Rendered for the local stage (unless a test gave it one): the same names the cloud renders.
        self.topology = topology = topology.for_stage(topology.stage or LOCAL_STAGE)
        self.stage = str(topology.stage)
        self.stripe_port = stripe_port
        self.topology_ref = topology_ref
        self.host = host
        self.port = port
        self.moto_port = moto_port
        self.state_dir = state_dir
        self.retry_delay_seconds = retry_delay_seconds
        self.region = region
        self.say = say
        self.clock = clock
        self.verbose = verbose
        self.traces = Traces(topology, show=show, sent_emails=self.emails)
        self._watching = contextlib.ExitStack()
        self.jobs = scheduled_jobs(topology, region)  # parse schedules before anything starts
        self.api_functions = api_functions(topology, region)
        self.authorizer_function = (
            LocalFunction(topology.authorizer_name, topology.authorizer_handler, region=region, timeout_seconds=10)
            if topology.authorizer_handler
            else None
        )
        self.moto: ThreadedMotoServer | None = None
        self.moto_endpoint = ""
        self.gateway: GatewayServer | None = None
        self.provisioned: Provisioned | None = None
        self.loops: list[BackgroundLoop] = []
        self.scheduler: Scheduler | None = None
        self.clients: AwsClients | None = None
        self._environment: EnvironmentOverlay | None = None
        self._identity_provider: dict[str, str] = {}
        self._authorizer_cache: dict[str, str] = {}
        self._usage_plans: dict[str, str] = {}
        self._consumer_functions: list[LocalFunction] = []
        self._stop_flushing: Callable[[], None] | None = None
        self.stripe: StripeEmulator | None = None
        self._stripe_settings: dict[str, str] = {}
        self.push_emulator = PushEmulator()
        self._duplicates = threading.Event()

    # -- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> LocalRuntime:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        return self.gateway.url if self.gateway else f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Bring everything up; on any failure, take down what was started and re-raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _apigateway(self) -> Any:
        if self.clients is None:
            raise RuntimeError("keel dev is not started")
        return self.clients.apigateway

    def _step(self, started: float, line: str) -> float:
        now = time.perf_counter()
        self.say(f"  {line:<68} {now - started:5.2f} s")
        return now

    def _start(self) -> None:
        began = mark = time.perf_counter()
        authorizer = (
            AuthorizerGate(self.authorizer_function, cache_seconds=AUTHORIZER_CACHE_SECONDS)
            if self.authorizer_function
            else None
        )
        api = LocalApi(
            self.topology,
            api_functions=self.api_functions,
            authorizer=authorizer,
            region=self.region,
            console=self,
            throttle=TenantThrottle(UsagePlanLimits(self._apigateway)),
        )
        try:
            self.gateway = GatewayServer(api, self.host, self.port)  # bind first: a taken port fails fast
        except OSError:
            taken = f"port {self.port} on {self.host} is in use (another keel dev?)"
            raise PortInUse(f"{taken}; use --port") from None

        moto_port = self.moto_port or free_port(self.host)
        _ensure_free(self.host, moto_port, "for moto")
        moto_patches.install()  # linear transactions, a trimmed stream, ClientRequestToken (see its docstring)
        moto_apigateway.install()  # FlushStageAuthorizersCache, which moto lacks
        moto_ses.install()  # DeleteSuppressedDestination, which moto lacks
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request otherwise
        self.moto = ThreadedMotoServer(ip_address=self.host, port=moto_port, verbose=False)
        self.moto.start()
        self.moto_endpoint = f"http://{self.host}:{moto_port}"
        reset_moto(self.moto_endpoint)
        mark = self._step(mark, f"moto          {self.moto_endpoint}")

        self.clients = aws_clients(self.moto_endpoint, self.region)
        self.provisioned = provision(self.topology, self.clients, self.region)
        if authorizer is not None:
            # Identity flushes "API Gateway's" authorizer cache when it suspends a tenant: here, this gateway's.
            self._stop_flushing = moto_apigateway.on_flush(LOCAL_API_ID, self.stage, authorizer.flush)
        idp = self.provisioned.identity_provider
        self._identity_provider = self.topology.identity_provider_settings(
            issuer=idp.issuer, audience=idp.client_id, jwks_url=idp.jwks_url(self.moto_endpoint)
        )
        self._authorizer_cache = self.topology.authorizer_cache_settings(self.stage, api_id=LOCAL_API_ID)
        plans = self.provisioned.usage_plans
        self._usage_plans = self.topology.usage_plan_settings(plans=plans) if plans is not None else {}
        self._start_stripe()
        if self.stripe is not None:
            mark = self._step(mark, f"stripe        {self.stripe.url} (webhooks -> {self.gateway.url})")
        self._environment = EnvironmentOverlay(
            local_environment(
                self.topology,
                moto_endpoint=self.moto_endpoint,
                region=self.region,
                identity_provider=self._identity_provider,
                authorizer_cache=self._authorizer_cache,
                stripe=self._stripe_settings,
            )
            | self.topology.local_messaging_settings(self.gateway.url, fcm_endpoint=f"{self.gateway.url}{FCM_PREFIX}")
            | self._usage_plans
            | ({} if self.verbose else QUIET_HANDLERS)
        )
        self._watching.enter_context(watching(self.traces))
        self._watching.enter_context(emails_seen(self.traces))  # before the kernel's clients are made again
        self._environment.apply()  # once, before any handler runs
        mark = self._step(
            mark,
            f"provisioned   {len(self.provisioned.streams)} tables, "
            f"{len(self.provisioned.queues)} queues + DLQs, bus {self.topology.bus_name!r} + archive",
        )

        self.gateway.start()
        mark = self._step(mark, f"gateway       {self.gateway.url}")

        self.loops = [*self._queue_pollers(self.clients.sqs), *self._stream_pollers(self.clients.streams)]
        self.scheduler = Scheduler(self.jobs, region=self.region, clock=self.clock)
        self.loops.append(self.scheduler)
        for loop in self.loops:
            loop.start()
        mark = self._step(
            mark,
            f"pollers       {len(self.provisioned.queues)} queues, {len(self.provisioned.streams)} streams; "
            f"scheduler {len(self.jobs)} jobs",
        )
        missing = self._missing_handlers()
        if missing:
            self.say(f"  !! handler modules not found yet: {', '.join(missing)}")
        self._write_state()
        self.say(f"Keel is up in {time.perf_counter() - began:.1f} s.")

    def _start_stripe(self) -> None:
        """The local Stripe emulator, when a context uses Stripe: its webhooks go to the endpoint Stripe
        calls, signed with the secret that context verifies with."""
        receiver = self.topology.endpoint_called_by("stripe")
        if not any(ctx.uses_stripe for ctx in self.topology.contexts) or self.gateway is None:
            return
        from infra.local.stripe import EmulatorSettings, StripeEmulator, WebhookTarget

        targets = (
            (WebhookTarget(f"{self.gateway.url}{receiver[1].route.path}", LOCAL_STRIPE_WEBHOOK_SECRET),)
            if receiver
            else ()
        )
        self.stripe = StripeEmulator(EmulatorSettings(host=self.host, port=self.stripe_port, webhooks=targets)).start()
        self._stripe_settings = self.topology.stripe_settings(
            api_base=self.stripe.url,
            api_key=LOCAL_STRIPE_KEY,
            webhook_secret=LOCAL_STRIPE_WEBHOOK_SECRET,
            test_clocks=True,
        )

    def _queue_pollers(self, sqs: SQSClient) -> list[QueuePoller]:
        assert self.provisioned is not None
        pollers = []
        for queue in self.provisioned.queues:
            function = LocalFunction(
                queue.queue_name, queue.handler, region=self.region, timeout_seconds=queue.timeout_seconds
            )
            self._consumer_functions.append(function)
            pollers.append(
                QueuePoller(
                    sqs=sqs,
                    function=function,
                    queue_name=queue.queue_name,
                    queue_url=queue.queue_url,
                    queue_arn=queue.queue_arn,
                    region=self.region,
                    batch_size=queue.batch_size,
                    retry_delay_seconds=self.retry_delay_seconds,
                    duplicates=self._duplicates,
                )
            )
        return pollers

    def _stream_pollers(self, streams: DynamoDBStreamsClient) -> list[StreamPoller]:
        assert self.provisioned is not None
        pollers = []
        for ctx in (c for c in self.topology.contexts if c.table):
            table, stream_arn = ctx.table_name, self.provisioned.streams[ctx.table_name]
            function = LocalFunction(
                ctx.outbox_name, self.topology.outbox_relay_handler, region=self.region, timeout_seconds=60
            )
            self._consumer_functions.append(function)
            pollers.append(
                StreamPoller(
                    streams=streams,
                    function=function,
                    table_name=table,
                    stream_arn=stream_arn,
                    region=self.region,
                )
            )
        return pollers

    def stop(self) -> None:
        """Stop pollers, scheduler, gateway and moto, and put the environment back. Idempotent."""
        stop_all(self.loops, timeout=10)
        if self._stop_flushing is not None:
            self._stop_flushing()
            self._stop_flushing = None
        if self.gateway is not None:
            self.gateway.stop()
        if self.stripe is not None:
            self.stripe.stop()
            self.stripe = None
        if self.moto is not None:
            self.moto.stop()
            self.moto = None
        if self._environment is not None:
            self._environment.restore()
            self._environment = None
        self._watching.close()
        self._remove_state()

    # -- .keel/dev.json -------------------------------------------------------------------------

    def _write_state(self) -> None:
        if self.state_dir is None:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        info = DevServerInfo(
            pid=os.getpid(),
            api_url=self.api_url,
            moto_endpoint=self.moto_endpoint,
            region=self.region,
            topology=self.topology_ref,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            identity_provider=self._identity_provider,
            stage=str(self.topology.stage),
            authorizer_cache=self._authorizer_cache,
            usage_plans=self._usage_plans,
            stripe_url=self.stripe.url if self.stripe else None,
            stripe=self._stripe_settings,
        )
        (self.state_dir / STATE_FILE).write_text(json.dumps(info.__dict__, indent=2) + "\n")

    def _remove_state(self) -> None:
        if self.state_dir is None:
            return
        path = self.state_dir / STATE_FILE
        try:
            if json.loads(path.read_text()).get("pid") == os.getpid():
                path.unlink()
        except (OSError, ValueError):
            pass

    # -- what the local pages show (``gateway.DevConsole``) ---------------------------------------

    def _missing_handlers(self) -> list[str]:
        functions = [
            *self.api_functions.values(),
            *self._consumer_functions,
            *(job.function for job in self.jobs),
        ]
        if self.authorizer_function:
            functions.append(self.authorizer_function)
        return sorted({f.handler for f in functions if not f.is_importable()})

    def components(self) -> dict[str, dict[str, Any]]:
        moto_up = self.moto is not None and _listening(self.host, int(self.moto_endpoint.rsplit(":", 1)[1]))
        components: dict[str, dict[str, Any]] = {
            "moto": {"status": "ok" if moto_up else "down", "endpoint": self.moto_endpoint},
            "gateway": {
                "status": "ok" if self.gateway and self.gateway.is_serving() else "down",
                "url": self.api_url,
            },
        }
        if self.stripe is not None:
            serving = self.stripe.is_serving()
            components["stripe"] = {"status": "ok" if serving else "down", "url": self.stripe.url if serving else None}
        for loop in self.loops:
            components[f"{loop.kind}:{loop.name}"] = loop.status()
        missing = self._missing_handlers()
        components["handlers"] = {"status": "degraded" if missing else "ok", "missing": missing}
        return components

    def emails(self) -> list[dict[str, Any]]:
        return moto_state.sent_emails(self.region)

    def push(self, project: str, body: bytes | None) -> tuple[int, dict[str, Any]]:
        return self.push_emulator.send(project, body)

    def pushes(self) -> list[dict[str, Any]]:
        return self.push_emulator.sent()

    def duplicate_delivery(self, enabled: bool | None = None) -> bool:
        if enabled is not None:
            (self._duplicates.set if enabled else self._duplicates.clear)()
        return self._duplicates.is_set()

    def requested(self, seen: RequestSeen) -> None:
        self.traces.request(seen)

    def trace(self, correlation_id: str) -> dict[str, Any] | None:
        return self.traces.chain(correlation_id)

    def dead_letters(self) -> list[dict[str, Any]]:
        assert self.provisioned is not None
        queues = []
        for queue in self.provisioned.queues:
            messages = moto_state.queue_messages(queue.dlq_name, self.region)
            for message in messages:
                with contextlib.suppress(ValueError):
                    message["body"] = json.loads(message["body"])
            queues.append(
                {
                    "queue": queue.dlq_name,
                    "source_queue": queue.queue_name,
                    "context": queue.context,
                    "subscription": queue.subscription,
                    "count": len(messages),
                    "messages": messages,
                    "redrive": f"POST {self.api_url}/_local/dlq/{queue.dlq_name}/redrive",
                }
            )
        return queues

    def token(self, email: str, *, operator: bool = False) -> dict[str, Any]:
        """Sign ``email`` in at the local IdP (made on first use); ``ValueError`` if Cognito refuses it.
        ``operator``: put the user in the operators' group first, so that the tokens say so."""
        assert self.clients is not None
        assert self.provisioned is not None
        cognito, idp = self.clients.cognito, self.provisioned.identity_provider
        verified: list[AttributeTypeTypeDef] = [
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
        ]
        try:
            cognito.admin_create_user(
                UserPoolId=idp.user_pool_id, Username=email, UserAttributes=verified, MessageAction="SUPPRESS"
            )
        except cognito.exceptions.UsernameExistsException:
            pass
        except cognito.exceptions.InvalidParameterException as exc:  # e.g. "a b@c": not an address to Cognito
            raise ValueError(
                f"the local identity provider refuses {email!r}: {exc.response['Error']['Message']}"
            ) from None
        cognito.admin_set_user_password(
            UserPoolId=idp.user_pool_id, Username=email, Password=LOCAL_PASSWORD, Permanent=True
        )
        if operator:
            cognito.admin_add_user_to_group(UserPoolId=idp.user_pool_id, Username=email, GroupName=idp.operators_group)
        signed_in = cognito.admin_initiate_auth(
            UserPoolId=idp.user_pool_id,
            ClientId=idp.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": LOCAL_PASSWORD},
        )["AuthenticationResult"]
        return {
            "email": email,
            "id_token": signed_in["IdToken"],
            "access_token": signed_in["AccessToken"],
            "refresh_token": signed_in.get("RefreshToken"),
            "expires_in": signed_in["ExpiresIn"],
            "authorization": f"Bearer {signed_in['IdToken']}",
            "issuer": idp.issuer,
        }

    def redrive(self, queue: str) -> int:
        assert self.clients is not None
        return dlq.redrive(self.clients.sqs, dlq.find_dead_letter_queue(self.topology, queue))
