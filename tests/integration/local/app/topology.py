"""The topology the local runtime's tests render: the real platform context, the kernel-built
"things" context (tests/support/things.py) and a "probe" context of recording handlers."""

from __future__ import annotations

from infra.contexts.platform import CONTEXT as PLATFORM
from infra.topology import LOCAL_STAGE, Context, Job, Route, Subscription, Topology

APP = "tests.integration.local.app"
REF = f"{APP}.topology:TOPOLOGY"

THINGS = Context(
    name="things",
    api_handler="tests.support.things",
    api_prefixes=("/v1/things", "/v1/boom"),
    public_routes=(Route("GET", "/v1/boom"),),
    subscriptions=(
        Subscription(
            name="count_things",
            handler=f"{APP}.count_things",
            event_types=("things.thing.created.v1",),
            timeout_seconds=5,
        ),
        # A chain two hops long: created -> forward (publishes forwarded) -> witness and mail.
        Subscription(
            name="forward", handler=f"{APP}.forward", event_types=("things.thing.created.v1",), timeout_seconds=5
        ),
        Subscription(
            name="witness", handler=f"{APP}.witness", event_types=("things.thing.forwarded.v1",), timeout_seconds=5
        ),
        Subscription(name="mail", handler=f"{APP}.mail", event_types=("things.thing.forwarded.v1",), timeout_seconds=5),
    ),
)

PROBE = Context(
    name="probe",
    api_handler=f"{APP}.echo",
    api_prefixes=("/v1/probe", "/v1/admin/probe"),
    public_routes=tuple(
        Route(method, f"/v1/probe/{name}")  # type: ignore[arg-type]
        for method, name in (
            ("GET", "public"),
            ("POST", "public"),
            ("DELETE", "public"),
            ("GET", "fast"),
            ("GET", "raise"),
            ("GET", "malformed"),
        )
    ),
    tenantless_routes=(Route("GET", "/v1/probe/me"),),
    table=False,
    subscriptions=(Subscription(name="sink", handler=f"{APP}.sink", event_types=("probe.*",)),),
    jobs=(Job(name="tick", handler=f"{APP}.tick", schedule="cron(* * * * ? *)"),),
    settings={"KEEL_PROBE_SENDER": "probe@probe.example"},
)

TOPOLOGY = Topology(
    authorizer_handler=f"{APP}.authorizer",
    outbox_relay_handler=f"{APP}.relay",
    contexts=(PLATFORM, THINGS, PROBE),
)

#: The queues the tests watch, named as the topology names them for keel dev's stage.
COUNT_THINGS, SINK = THINGS.subscriptions[0], PROBE.subscriptions[0]
LOCAL_THINGS, LOCAL_PROBE = (TOPOLOGY.for_stage(LOCAL_STAGE).context(name) for name in ("things", "probe"))
COUNT_THINGS_DLQ = LOCAL_THINGS.dlq_name(COUNT_THINGS)
SINK_QUEUE, SINK_DLQ = LOCAL_PROBE.queue_name(SINK), LOCAL_PROBE.dlq_name(SINK)

#: A topology EventBridge would refuse: the CLI must say so without a traceback.
BAD_SCHEDULE = Topology(
    authorizer_handler=None,
    outbox_relay_handler="keel.outbox_relay",
    contexts=(
        Context(
            name="probe", table=False, jobs=(Job(name="tick", handler=f"{APP}.tick", schedule="cron(61 * * * ? *)"),)
        ),
    ),
)
