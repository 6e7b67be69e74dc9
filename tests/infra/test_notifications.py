"""Notifications' stack (the real topology: ``keel``): the SES configuration set and sender identity,
who may send, and the secrets and queue its functions are given."""

from __future__ import annotations

import json

from tests.infra.cfn import Synthesized


def test_the_stack_has_an_ses_configuration_set_named_as_its_functions_are_told(keel: Synthesized) -> None:
    ctx = keel.topology.context("notifications")
    stack = keel.of(ctx)
    (configuration_set,) = stack.of_type("AWS::SES::ConfigurationSet").values()
    assert configuration_set["Properties"]["Name"] == ctx.email_configuration_set
    (identity,) = stack.of_type("AWS::SES::EmailIdentity").values()
    # The sender's domain (keel:settings' KEEL_NOTIFICATIONS_SENDER; keel.local unless a deployment names one)
    assert identity["Properties"]["EmailIdentity"] == "keel.local"
    assert "ConfigurationSet" in json.dumps(identity["Properties"]["ConfigurationSetAttributes"])
    for function in keel.functions(ctx).values():
        assert function["Properties"]["Environment"]["Variables"]["KEEL_NOTIFICATIONS_CONFIGURATION_SET"] == (
            ctx.email_configuration_set
        )


def test_its_functions_read_identitys_invitation_key_by_name_and_no_other_context_does(
    keel: Synthesized,
) -> None:
    identity = keel.topology.context("identity")
    name = identity.resource_name("invitation-key")
    for ctx in keel.topology.contexts:
        stack = json.dumps(keel.of(ctx).template)
        variables = [f["Properties"]["Environment"]["Variables"] for f in keel.functions(ctx).values()]
        if ctx.name == "notifications":
            assert all(v["KEEL_NOTIFICATIONS_INVITATION_KEY_ARN"] == name for v in variables)
            assert f"secret:{name}-??????" in stack
        elif ctx.name != "identity":
            assert name not in stack


def test_only_notifications_may_send_email(keel: Synthesized) -> None:
    for ctx in keel.topology.contexts:
        policies = json.dumps(keel.of(ctx).of_type("AWS::IAM::Policy"))
        assert ("ses:SendRawEmail" in policies) == (ctx.name == "notifications"), ctx.name


def test_only_notifications_api_may_take_an_address_off_sess_account_suppression_list(keel: Synthesized) -> None:
    from tests.infra.test_permissions import role_statements

    granted = []
    for ctx in keel.topology.contexts:
        stack = keel.of(ctx)
        for function in keel.functions(ctx).values():
            for statement in role_statements(stack, function):
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if "ses:DeleteSuppressedDestination" in actions:
                    # An account-level call: no resource to name (CDK merges it with X-Ray's, also on "*")
                    assert statement["Resource"] in ("*", ["*"])
                    granted.append(function["Properties"]["Handler"])
    assert granted == ["functions.notifications.handlers.api.handler"]


def test_the_weekly_job_alone_may_feed_the_summaries_queue(keel: Synthesized) -> None:
    from tests.infra.cfn import target
    from tests.infra.test_functions import _senders

    ctx = keel.topology.context("notifications")
    stack = keel.of(ctx)
    senders = _senders(stack, ctx.resource_name("summaries"))
    handlers = [
        f["Properties"]["Handler"] for f in keel.functions(ctx).values() if target(f["Properties"]["Role"]) in senders
    ]
    assert handlers == ["functions.notifications.handlers.weekly_summary.handler"]


def test_the_configuration_set_sends_bounces_and_complaints_to_the_default_bus(keel: Synthesized) -> None:
    stack = keel.of(keel.topology.context("notifications"))
    (destination,) = stack.of_type("AWS::SES::ConfigurationSetEventDestination").values()
    settings = destination["Properties"]["EventDestination"]
    assert sorted(settings["MatchingEventTypes"]) == ["bounce", "complaint"]  # CloudFormation spells them so
    assert settings["Enabled"] is True
    assert ":event-bus/default" in json.dumps(settings["EventBridgeDestination"]["EventBusArn"])


def test_the_email_events_rule_on_the_default_bus_takes_ses_bounces_and_complaints_to_its_queue(
    keel: Synthesized,
) -> None:
    ctx = keel.topology.context("notifications")
    rules = keel.of(ctx).of_type("AWS::Events::Rule")
    (rule,) = [r for r in rules.values() if r["Properties"].get("Name") == ctx.resource_name("email-events")]
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.ses"],
        "detail-type": ["Email Bounced", "Email Complaint Received"],
    }
    assert rule["Properties"]["EventBusName"] == "default"  # the only bus SES puts its events on
