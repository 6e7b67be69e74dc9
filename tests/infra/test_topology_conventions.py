"""The conventions both renderers share, defined once on the topology: names, the prefix rule, the
identity provider's settings and the contexts it collects."""

from __future__ import annotations

import pytest

from infra.model import (
    PLATFORM_WORDS,
    Context,
    Job,
    Route,
    Subscription,
    Topology,
    UnstagedName,
    dead_letter_queue_name,
    is_under,
)
from infra.topology import TOPOLOGY

SUB = Subscription(name="entitlements", handler="functions.demo.handlers.on", event_types=("billing.x.v1",))
JOB = Job(name="sweep", handler="functions.demo.handlers.jobs", schedule="rate(1 hour)")


def test_a_contexts_names_start_with_keel_its_stage_and_its_name_once() -> None:
    ctx = Context(name="work_orders", subscriptions=(SUB,), jobs=(JOB,)).for_stage("prod")
    assert ctx.table_name == "keel-prod-work_orders"
    assert ctx.queue_name(SUB) == ctx.function_name(SUB) == "keel-prod-work_orders-entitlements"
    assert ctx.dlq_name(SUB) == dead_letter_queue_name(ctx.queue_name(SUB)) == "keel-prod-work_orders-entitlements-dlq"
    assert (ctx.rule_name(JOB), ctx.dlq_name(JOB)) == ("keel-prod-work_orders-sweep", "keel-prod-work_orders-sweep-dlq")
    assert (ctx.outbox_name, ctx.outbox_dlq_name) == (
        "keel-prod-work_orders-outbox",
        "keel-prod-work_orders-outbox-dlq",
    )
    assert ctx.migrations_function_name == "keel-prod-work_orders-migrate"
    # And its stack name is a valid CloudFormation stack name
    assert ctx.stack_name == "Keel-Prod-WorkOrders"


def test_the_platforms_names_belong_to_the_stage_too() -> None:
    staging = TOPOLOGY.for_stage("staging")
    assert (staging.bus_name, staging.archive_name) == ("keel-staging-bus", "keel-staging-archive")
    assert (staging.idempotency_table, staging.alarm_topic_name) == ("keel-staging-idempotency", "keel-staging-alarms")
    assert staging.parameter_name("rest-api-id") == "/keel/staging/rest-api-id"
    assert (staging.foundation_stack_name, staging.api_stack_name) == ("Keel-Staging-Foundation", "Keel-Staging-Api")
    assert staging.platform_environment()["KEEL_BUS_NAME"] == staging.bus_name
    # And every context of a staged topology is staged with it
    assert {ctx.stage for ctx in staging.contexts} == {"staging"}
    # But the account's own stack is every stage's
    assert staging.account_stack_name == TOPOLOGY.for_stage("prod").account_stack_name == "Keel-Account"


def test_a_topology_without_a_stage_names_nothing() -> None:
    # Given the catalog itself, then asking it for a physical name fails instead of guessing a stage
    with pytest.raises(UnstagedName):
        _ = TOPOLOGY.bus_name
    with pytest.raises(UnstagedName):
        _ = TOPOLOGY.context("identity").table_name
    with pytest.raises(UnstagedName):
        TOPOLOGY.platform_environment()


@pytest.mark.parametrize("stage", ["Prod", "pre-prod", "pre_prod", "1st", "", "averyverylongstage"])
def test_a_stage_name_is_one_short_lowercase_word(stage: str) -> None:
    # A hyphen would let (stage "a-b", context "c") and (stage "a", context "b", item "c") share a name
    with pytest.raises(ValueError, match="stage"):
        TOPOLOGY.for_stage(stage)


def test_two_stages_never_render_the_same_name() -> None:
    def names(stage: str) -> set[str]:
        staged = TOPOLOGY.for_stage(stage)
        own = {staged.bus_name, staged.archive_name, staged.idempotency_table, staged.alarm_topic_name}
        for ctx in staged.contexts:
            own |= {ctx.table_name, ctx.stack_name, ctx.outbox_name, ctx.api_function_name}
            own |= {ctx.queue_name(s) for s in ctx.subscriptions} | {ctx.rule_name(j) for j in ctx.jobs}
        return own

    assert not names("staging") & names("prod")


@pytest.mark.parametrize("word", sorted(PLATFORM_WORDS))
def test_no_context_may_take_a_platform_resources_word(word: str) -> None:
    # A context called "idempotency" would own the table keel-<stage>-idempotency, which is the platform's
    with pytest.raises(ValueError, match="platform"):
        Topology(authorizer_handler=None, outbox_relay_handler="keel.outbox_relay", contexts=(Context(name=word),))


@pytest.mark.parametrize("name", ["demo-entitlements", "demo_entitlements", "demo"])
def test_a_subscription_or_job_may_not_repeat_its_contexts_name(name: str) -> None:
    with pytest.raises(ValueError, match="repeats the context"):
        Context(name="demo", subscriptions=(Subscription(name=name, handler="h", event_types=("a.b.v1",)),))
    with pytest.raises(ValueError, match="repeats the context"):
        Context(name="demo", jobs=(Job(name=name, handler="h", schedule="rate(1 hour)"),))


def test_no_queue_or_rule_of_the_topology_repeats_its_context() -> None:
    for ctx in TOPOLOGY.for_stage("dev").contexts:
        for item in (*ctx.subscriptions, *ctx.jobs):
            assert f"-{ctx.name}-{ctx.name}" not in ctx.rule_name(item)


@pytest.mark.parametrize("name", ["Demo", "1demo", "de-mo", "class", "match", "", "demo\n"])
def test_a_context_name_is_a_lowercase_identifier_and_no_keyword(name: str) -> None:
    with pytest.raises(ValueError, match="context name"):
        Context(name=name)


@pytest.mark.parametrize(
    ("path", "prefix", "routed"),
    [
        ("/v1/members", "/v1/members", True),
        ("/v1/members/usr_1", "/v1/members", True),
        ("/v1/membership", "/v1/members", False),
        ("/docs/x.css", "/docs/", True),
    ],
)
def test_a_prefix_routes_itself_and_what_is_below_it(path: str, prefix: str, routed: bool) -> None:
    assert is_under(path, prefix) is routed


def test_the_longest_prefix_wins_within_a_context_and_across_contexts() -> None:
    outer = Context(name="outer", api_prefixes=("/v1", "/v1/things"))
    inner = Context(name="inner", api_prefixes=("/v1/things/special",))
    topology = Topology(authorizer_handler=None, outbox_relay_handler="keel.outbox_relay", contexts=(outer, inner))
    assert outer.api_prefix_for("/v1/things/1") == "/v1/things"
    assert topology.api_context_for("/v1/things/special/1") is inner
    assert topology.api_context_for("/v1/things/1") is outer
    assert topology.api_context_for("/health") is None


def test_the_identity_provider_settings_are_named_by_the_authorizers_context() -> None:
    settings = TOPOLOGY.identity_provider_settings(issuer="https://iss", audience="app", jwks_url="https://jwks")
    owner = TOPOLOGY.authorizer_context
    assert owner is not None
    assert settings == {
        owner.setting_name("OIDC_ISSUER"): "https://iss",
        owner.setting_name("OIDC_AUDIENCE"): "app",
        owner.setting_name("JWKS_URL"): "https://jwks",
    }
    # And without a JWKS URL the authorizer derives it from the issuer (the cloud's case)
    assert owner.setting_name("JWKS_URL") not in TOPOLOGY.identity_provider_settings(issuer="i", audience="a")


# -- operators: /v1/admin/<area>, one area per context ------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "token_only"),
    [
        ("GET", "/v1/admin/tenants", True),
        ("POST", "/v1/admin/tenants/ten_1/suspend", True),
        ("GET", "/v1/admin/entitlements/x", True),  # another context's area: the same rule
        ("GET", "/v1/adminx", False),
        ("GET", "/v1/tenant", False),
        ("POST", "/v1/tenants", True),  # a tenant-less route, as listed by its context
    ],
)
def test_every_route_under_the_admin_prefix_is_authorized_on_the_token_alone(
    method: str, path: str, token_only: bool
) -> None:
    assert TOPOLOGY.is_tenantless(method, path) is token_only


def test_a_context_owns_an_area_under_v1_admin_not_the_prefix_itself() -> None:
    assert Context(name="billing", api_prefixes=("/v1/admin/entitlements",)).operator_prefixes == (
        "/v1/admin/entitlements",
    )
    for prefix in ("/v1/admin", "/v1/admin/"):
        with pytest.raises(ValueError, match="area of its own"):
            Context(name="greedy", api_prefixes=(prefix,))


def test_no_public_route_may_sit_under_v1_admin() -> None:
    with pytest.raises(ValueError, match="only operators reach"):
        Context(name="leaky", api_prefixes=("/v1/admin/x",), public_routes=(Route("GET", "/v1/admin/x"),))


def test_the_operators_group_is_the_default_unless_the_deployment_names_another() -> None:
    owner = TOPOLOGY.authorizer_context
    assert owner is not None
    assert TOPOLOGY.operators_group({}) == "keel-operators"
    assert TOPOLOGY.operators_group({owner.setting_name("OPERATORS_GROUP"): "platform-team"}) == "platform-team"


def test_the_api_id_parameter_is_named_per_stage_under_the_authorizers_context() -> None:
    owner = TOPOLOGY.authorizer_context
    assert owner is not None
    assert TOPOLOGY.authorizer_cache_settings("prod") == {owner.setting_name("API_ID_PARAMETER"): "/keel/prod/api-id"}
    # The local runtime gives the id itself
    assert TOPOLOGY.authorizer_cache_settings("local", api_id="a1") == {owner.setting_name("API_ID"): "a1"}
    without = Topology(
        authorizer_handler=None, outbox_relay_handler="keel.outbox_relay", contexts=(Context(name="demo"),)
    )
    assert without.authorizer_cache_settings("prod") == {}


def test_context_names_are_unique_in_a_topology() -> None:
    twice = (Context(name="demo"), Context(name="demo"))
    with pytest.raises(ValueError, match="unique"):
        Topology(authorizer_handler=None, outbox_relay_handler="keel.outbox_relay", contexts=twice)


def test_the_topology_holds_every_context_module_and_nothing_else() -> None:
    from pathlib import Path

    from infra import contexts

    modules = {p.stem for p in Path(contexts.__file__).parent.glob("*.py")} - {"__init__"}
    assert {ctx.name for ctx in TOPOLOGY.contexts} == modules


def test_a_subscription_to_an_aws_source_matches_its_detail_types_on_the_default_bus() -> None:
    sub = Subscription(name="mail", handler="h", aws_source="aws.ses", event_types=("Email Bounced",))
    assert sub.event_pattern == {"source": ["aws.ses"], "detail-type": ["Email Bounced"]}
    assert (sub.on_default_bus, SUB.on_default_bus) == (True, False)


@pytest.mark.parametrize(("source", "types"), [("keel.billing", ("Email Bounced",)), ("aws.ses", ())])
def test_an_aws_source_is_an_aws_service_with_detail_types(source: str, types: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="aws_source"):
        Subscription(name="mail", handler="h", aws_source=source, event_types=types)
