"""The REST API: public routes without the authorizer, everything else behind it."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from functions.identity.domain.access import Deny, suspended
from functions.identity.handlers.authorizer import policy
from infra.cloud.app import build_app
from infra.contexts.platform import CONTEXT as PLATFORM
from infra.local.gateway import UNROUTED_METHOD
from tests.infra.cfn import Stack, Synthesized, target
from tests.infra.conftest import ACCESS_LOG_RETENTION_DAYS, DEFAULT_STAGE, ORIGINS, SKIP_BUNDLING, STAGING
from tests.infra.sample_topology import SAMPLE


def _routes(synthesized: Synthesized) -> dict[tuple[str, str], dict[str, object]]:
    """Every method but CORS preflights."""
    return {(method, path): props for method, path, props in synthesized.api.methods()}


def test_public_routes_are_served_without_the_authorizer(synthesized: Synthesized) -> None:
    routes = _routes(synthesized)
    # Given every public route of the topology
    for ctx in synthesized.topology.contexts:
        for route in ctx.public_routes:
            # Then it has its own method, open to anyone, on its exact path
            method = routes[(route.method, route.path)]
            assert method["AuthorizationType"] == "NONE", route
            assert "AuthorizerId" not in method, route


def _authorizer_ids(sample: Synthesized) -> tuple[str, str]:
    """(tenant authorizer, user authorizer), told apart by their identity sources."""
    by_source = {
        props["Properties"]["IdentitySource"]: logical
        for logical, props in sample.api.of_type("AWS::ApiGateway::Authorizer").items()
    }
    return (
        by_source["method.request.header.Authorization,method.request.header.X-Tenant-Id"],
        by_source["method.request.header.Authorization"],
    )


def test_everything_else_under_a_prefix_goes_through_the_tenant_authorizer(sample: Synthesized) -> None:
    routes = _routes(sample)
    authorizer, _ = _authorizer_ids(sample)
    public = {(r.method, r.path) for r in sample.topology.public_routes}
    # Given each API prefix of the sample but the operators', then the prefix and everything under it
    # need the tenant authorizer
    for ctx in sample.topology.contexts:
        for prefix in set(ctx.api_prefixes) - set(ctx.operator_prefixes):
            for path in (prefix, f"{prefix}/{{proxy+}}"):
                assert routes[("ANY", path)]["AuthorizationType"] == "CUSTOM", path
                assert target(routes[("ANY", path)]["AuthorizerId"]) == authorizer
    # And no method other than a public route is open
    assert {route for route, props in routes.items() if props["AuthorizationType"] == "NONE"} == public


def test_each_prefix_reaches_its_own_contexts_api_function(sample: Synthesized) -> None:
    routes = _routes(sample)
    # Given each context's prefixes, then their methods call that context's function, exported by its stack
    for ctx in sample.topology.contexts:
        for (_, path), props in routes.items():
            if sample.topology.api_context_for(path) == ctx:
                assert f"{ctx.stack_name}:" in str(props["Integration"]), path


def test_without_an_authorizer_only_public_routes_are_served(tmp_path: Path) -> None:
    # Given a topology of public routes only and no authorizer
    public_only = dataclasses.replace(SAMPLE, authorizer_handler=None, contexts=(PLATFORM,))
    # When it is synthesized
    app = build_app(public_only, outdir=str(tmp_path), context=SKIP_BUNDLING)
    name = public_only.for_stage(DEFAULT_STAGE).api_stack_name
    api_stack = app.node.find_child(name)
    assert isinstance(api_stack, cdk.Stack)
    api = Stack(name, dict(Template.from_stack(api_stack).to_json()))
    # Then exactly its public routes exist, and nothing else is routed to anyone
    served = {(method, path) for method, path, _ in api.methods(preflights=True)}
    assert served == {(r.method, r.path) for r in PLATFORM.public_routes}
    assert not api.of_type("AWS::ApiGateway::Authorizer")
    # And with no origin configured, no browser preflight is answered and no CORS header is sent
    assert "Access-Control" not in json.dumps(api.template)


def test_authorizer_reads_the_token_and_tenant_headers_and_is_cached(sample: Synthesized) -> None:
    # Given the sample's authorizer handler, then API Gateway calls it with both headers and caches the answer
    sample.api.assertions.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {
            "Type": "REQUEST",
            "IdentitySource": "method.request.header.Authorization,method.request.header.X-Tenant-Id",
            "AuthorizerResultTtlInSeconds": STAGING["authorizer_cache_seconds"],
        },
    )


def test_private_routes_with_no_authorizer_fail_synth(tmp_path: Path) -> None:
    # Given a context whose prefix has no public route, and no authorizer in the topology
    unguarded = dataclasses.replace(SAMPLE, authorizer_handler=None)
    # When it is rendered, then synth refuses rather than serving those routes to anyone
    with pytest.raises(ValueError, match="no authorizer"):
        build_app(unguarded, outdir=str(tmp_path), context=SKIP_BUNDLING)


def test_an_authorizer_no_context_owns_fails_synth(tmp_path: Path) -> None:
    # Given an authorizer handler in a context the topology does not have
    orphan = dataclasses.replace(SAMPLE, authorizer_handler="functions.nobody.handlers.authorizer")
    # When it is rendered, then synth says so
    with pytest.raises(ValueError, match="names no context"):
        build_app(orphan, outdir=str(tmp_path), context=SKIP_BUNDLING)


def test_tenantless_routes_use_the_authorizer_keyed_on_the_token_alone(sample: Synthesized) -> None:
    # Given routes for a signed-in user with no tenant yet (API Gateway would 401 a missing X-Tenant-Id)
    routes = _routes(sample)
    tenant_authorizer, user_authorizer = _authorizer_ids(sample)
    tenantless = sample.topology.tenantless_routes
    assert tenantless
    # Then each has its own method behind the user authorizer, and no other method uses that authorizer
    for route in tenantless:
        method = routes[(route.method, route.path)]
        assert method["AuthorizationType"] == "CUSTOM"
        assert target(method["AuthorizerId"]) == user_authorizer
    on_user = {
        key
        for key, props in routes.items()
        if "AuthorizerId" in props and target(props["AuthorizerId"]) == user_authorizer
    }
    operators = {("ANY", path) for p in _operator_prefixes(sample) for path in (p, f"{p}/{{proxy+}}")}
    assert on_user == {(r.method, r.path) for r in tenantless} | operators
    assert tenant_authorizer != user_authorizer


def _operator_prefixes(synthesized: Synthesized) -> list[str]:
    return [prefix for ctx in synthesized.topology.contexts for prefix in ctx.operator_prefixes]


def test_every_contexts_operator_area_is_served_by_the_authorizer_keyed_on_the_token_alone(
    synthesized: Synthesized,
) -> None:
    # Given the operator areas under /v1/admin (identity's tenants; the sample's billing too)
    routes = _routes(synthesized)
    _, user_authorizer = _authorizer_ids(synthesized)
    prefixes = _operator_prefixes(synthesized)
    assert "/v1/admin/tenants" in prefixes
    # Then each, and everything under it, is authorized on the token alone: operators act in no tenant
    for prefix in prefixes:
        for path in (prefix, f"{prefix}/{{proxy+}}"):
            assert routes[("ANY", path)]["AuthorizationType"] == "CUSTOM", path
            assert target(routes[("ANY", path)]["AuthorizerId"]) == user_authorizer, path


def test_both_authorizers_are_cached_for_the_same_time(sample: Synthesized) -> None:
    ttls = {
        p["Properties"]["AuthorizerResultTtlInSeconds"]
        for p in sample.api.of_type("AWS::ApiGateway::Authorizer").values()
    }
    assert ttls == {STAGING["authorizer_cache_seconds"]}


def test_one_stage_logs_access_traces_and_throttles(synthesized: Synthesized) -> None:
    # Given the API stack, then its only stage writes access logs, traces and throttles every method
    (stage,) = synthesized.api.of_type("AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    (access_logs,) = synthesized.api.of_type("AWS::Logs::LogGroup")
    assert access_logs in str(props["AccessLogSetting"]["DestinationArn"])
    assert props["TracingEnabled"] is True
    (defaults,) = props["MethodSettings"]
    assert (defaults["HttpMethod"], defaults["ResourcePath"]) == ("*", "/*")
    assert defaults["ThrottlingRateLimit"] > 0
    assert defaults["ThrottlingBurstLimit"] > 0
    assert defaults["LoggingLevel"] in {"ERROR", "INFO"}


def _gateway_responses(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        props["Properties"]["ResponseType"]: props["Properties"]
        for props in synthesized.api.of_type("AWS::ApiGateway::GatewayResponse").values()
    }


def test_api_gateways_own_refusals_use_keels_error_shape(synthesized: Synthesized) -> None:
    # Given API Gateway's refusals: its defaults, and those the local gateway mirrors with Keel's codes
    responses = _gateway_responses(synthesized)
    expected = {
        "DEFAULT_4XX": "$context.error.responseType",
        "DEFAULT_5XX": "$context.error.responseType",
        "UNAUTHORIZED": "unauthorized",
        "ACCESS_DENIED": "$context.authorizer.error_code",
        "MISSING_AUTHENTICATION_TOKEN": "forbidden",
        "THROTTLED": "rate_limited",
        "REQUEST_TOO_LARGE": "payload_too_large",
    }
    assert expected.keys() <= responses.keys()
    for response_type, code in expected.items():
        # Then each answers {"error": {"code", "message", "request_id"}} with that code: valid JSON once rendered
        template = responses[response_type]["ResponseTemplates"]["application/json"]
        rendered = (
            template.replace("$context.error.messageString", '"a message"')
            .replace("$context.authorizer.error_message", "a message")
            .replace("$context.", "")
        )
        error = json.loads(rendered)["error"]
        assert error["code"] == code.replace("$context.", ""), response_type
        assert set(error) == {"code", "message", "request_id"}


@pytest.mark.parametrize(
    "denial", [suspended("usr_1"), Deny("usr_1", reason="not a member")], ids=["suspended", "plain"]
)
def test_access_denied_answers_with_the_code_and_message_of_the_authorizers_deny(
    synthesized: Synthesized, denial: Deny
) -> None:
    # Given a Deny as identity's authorizer returns it (its context names the 403's code and message)
    context = policy(denial, "arn:aws:execute-api:us-east-1:1:api/dev/GET/v1/tenant")["context"]
    template = _gateway_responses(synthesized)["ACCESS_DENIED"]["ResponseTemplates"]["application/json"]
    # When API Gateway renders its ACCESS_DENIED response with that context
    rendered = template.replace("$context.requestId", "req-1")
    for name, value in context.items():
        rendered = rendered.replace(f"$context.authorizer.{name}", value)
    # Then the caller gets that code and message in the error shape (tenant_suspended for a suspension)
    assert json.loads(rendered)["error"] == {"code": denial.code, "message": denial.message, "request_id": "req-1"}


def test_a_method_api_gateway_does_not_route_is_answered_like_the_local_gateway(synthesized: Synthesized) -> None:
    # Given TRACE, CONNECT...: no ANY covers them, so API Gateway answers MISSING_AUTHENTICATION_TOKEN (403)
    template = _gateway_responses(synthesized)["MISSING_AUTHENTICATION_TOKEN"]["ResponseTemplates"]["application/json"]
    error = json.loads(template.replace("$context.", ""))["error"]
    # Then the code and message are what the local gateway answers for them
    status, code, message = UNROUTED_METHOD
    assert (error["code"], error["message"]) == (code, message)
    assert status == 403  # the response type's own status, which the stack keeps


def test_api_gateways_own_refusals_carry_the_security_headers(synthesized: Synthesized) -> None:
    for response_type, props in _gateway_responses(synthesized).items():
        headers = props["ResponseParameters"]
        assert headers["gatewayresponse.header.X-Content-Type-Options"] == "'nosniff'", response_type
        assert headers["gatewayresponse.header.Strict-Transport-Security"] == "'max-age=31536000; includeSubDomains'"
        assert headers["gatewayresponse.header.Cache-Control"] == "'no-store'"


# -- browsers ----------------------------------------------------------------------------------------


def test_every_resource_answers_a_preflight_for_the_configured_origins(synthesized: Synthesized) -> None:
    api = synthesized.api
    preflights = {path: props for method, path, props in api.methods(preflights=True) if method == "OPTIONS"}
    # Given every API resource that has a method, then it answers a browser's preflight itself, unauthenticated
    assert {path for _, path, _ in api.methods()} <= set(preflights)
    for path, props in preflights.items():
        assert (props["AuthorizationType"], props["Integration"]["Type"]) == ("NONE", "MOCK"), path
        (answer,) = props["Integration"]["IntegrationResponses"]
        headers = answer["ResponseParameters"]
        # With the request headers Keel's API reads
        allowed = set(headers["method.response.header.Access-Control-Allow-Headers"].strip("'").split(","))
        assert allowed == {"Authorization", "X-Tenant-Id", "Idempotency-Key", "X-Correlation-Id", "Content-Type"}
        # For the configured origins only: the first by default, any other named one echoed back
        assert headers["method.response.header.Access-Control-Allow-Origin"] == f"'{ORIGINS[0]}'"
        template = answer["ResponseTemplates"]["application/json"]
        assert set(re.findall(r'\$origin == "(https?://[^"]+)"', template)) == set(ORIGINS[1:])
        assert headers["method.response.header.Vary"] == "'Origin'"


def test_api_gateways_own_refusals_are_readable_by_the_configured_origins(synthesized: Synthesized) -> None:
    for response in synthesized.api.of_type("AWS::ApiGateway::GatewayResponse").values():
        headers = response["Properties"]["ResponseParameters"]
        # Then a 401, 403, 429 or 5xx from API Gateway itself reaches the page with its error body
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == "method.request.header.Origin"
        assert headers["gatewayresponse.header.Vary"] == "'Origin'"


# -- access logs and compression ---------------------------------------------------------------------


def test_the_access_log_is_json_saying_who_and_what(synthesized: Synthesized) -> None:
    (stage,) = synthesized.api.of_type("AWS::ApiGateway::Stage").values()
    log_format = stage["Properties"]["AccessLogSetting"]["Format"]
    # Given the stage's access log format, then each line is a JSON object (numbers unquoted) ...
    fields = json.loads(re.sub(r"\$context\.(status|responseLatency)\b", "0", log_format))
    # ... with the request, the path asked for and the route matched, the outcome, the latencies,
    # the tenant and user the authorizer named, the errors and the X-Ray trace
    expected = {
        "requestId": "$context.requestId",
        "path": "$context.path",
        "resourcePath": "$context.resourcePath",
        "integrationLatency": "$context.integration.latency",
        "tenantId": "$context.authorizer.tenant_id",
        "userId": "$context.authorizer.user_id",
        "errorMessage": "$context.error.message",
        "authorizerError": "$context.authorizer.error",
        "xrayTraceId": "$context.xrayTraceId",
    }
    assert expected.items() <= fields.items()
    assert '"status": $context.status' in log_format
    assert '"responseLatency": $context.responseLatency' in log_format


def test_the_access_log_is_kept_as_long_as_the_deployment_says(synthesized: Synthesized) -> None:
    (log_group,) = synthesized.api.of_type("AWS::Logs::LogGroup").values()
    assert log_group["Properties"]["RetentionInDays"] == ACCESS_LOG_RETENTION_DAYS


def test_large_answers_are_compressed(synthesized: Synthesized) -> None:
    # Given the REST API, then answers over 1 KB go gzip-compressed to clients that accept it
    (api,) = synthesized.api.of_type("AWS::ApiGateway::RestApi").values()
    assert 0 < api["Properties"]["MinimumCompressionSize"] <= 1024
