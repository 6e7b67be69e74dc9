"""The foundation: alarms reach the topic, the archive as CloudFormation accepts it, and a user pool
ready for production when the deployment says how (SES, the code flow, MFA)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Template

from infra.cloud.deployment import CognitoSettings, Deployment, DeploymentError
from infra.cloud.stacks import FoundationStack
from tests.infra.cfn import Synthesized
from tests.infra.conftest import COGNITO
from tests.infra.sample_topology import SAMPLE

SOURCE_ACCOUNT = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def _cloudwatch_statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in document["Statement"] if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]


def test_cloudwatch_of_this_account_may_publish_to_the_alarm_topic(synthesized: Synthesized) -> None:
    # Given the alarm topic's policy, which replaces SNS's default policy
    (policy,) = synthesized.foundation.of_type("AWS::SNS::TopicPolicy").values()
    document = policy["Properties"]["PolicyDocument"]
    # Then CloudWatch may publish, only for alarms of this account
    (allow,) = _cloudwatch_statements(document)
    assert (allow["Effect"], allow["Action"]) == ("Allow", "sns:Publish")
    assert allow["Condition"] == SOURCE_ACCOUNT
    # And plain-HTTP publishing is still refused to everyone
    assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s) for s in document["Statement"])


def test_cloudwatch_of_this_account_may_use_the_topics_key(synthesized: Synthesized) -> None:
    (key,) = synthesized.foundation.of_type("AWS::KMS::Key").values()
    (grant,) = _cloudwatch_statements(key["Properties"]["KeyPolicy"])
    assert set(grant["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert grant["Condition"] == SOURCE_ACCOUNT


def test_the_archive_has_no_empty_key_identifier(synthesized: Synthesized) -> None:
    # Given the bus archive (CDK writes an empty KmsKeyIdentifier, which CloudFormation refuses)
    (archive,) = synthesized.foundation.of_type("AWS::Events::Archive").values()
    assert "KmsKeyIdentifier" not in archive["Properties"]


# -- Cognito -----------------------------------------------------------------------------------------


def _resource(synthesized: Synthesized, type_: str) -> dict[str, Any]:
    (resource,) = synthesized.foundation.of_type(type_).values()
    return dict(resource["Properties"])


def _client(synthesized: Synthesized, name: str) -> dict[str, Any]:
    clients = synthesized.foundation.of_type("AWS::Cognito::UserPoolClient").values()
    (client,) = [c["Properties"] for c in clients if c["Properties"]["ClientName"] == name]
    return dict(client)


def test_the_user_pool_sends_email_through_the_configured_ses_identity(synthesized: Synthesized) -> None:
    email = _resource(synthesized, "AWS::Cognito::UserPool")["EmailConfiguration"]
    assert email["EmailSendingAccount"] == "DEVELOPER"
    assert email["From"] == f"{COGNITO['from_name']} <{COGNITO['from_email']}>"
    assert f":identity/{COGNITO['ses_verified_domain']}" in json.dumps(email["SourceArn"])


def test_the_app_client_signs_in_with_the_code_flow_to_the_configured_urls_only(synthesized: Synthesized) -> None:
    client = _client(synthesized, synthesized.topology.app_client_name)
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["CallbackURLs"] == COGNITO["callback_urls"]
    assert client["LogoutURLs"] == COGNITO["logout_urls"]
    assert client["GenerateSecret"] is False
    # And never with a password sent to Cognito in the clear
    assert not {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH"} & set(client["ExplicitAuthFlows"])
    assert synthesized.foundation.of_type("AWS::Cognito::UserPoolDomain")


def test_the_smoke_client_signs_in_only_server_side_with_iam_credentials(synthesized: Synthesized) -> None:
    # Given the client `keel smoke` signs its throwaway users in with
    client = _client(synthesized, synthesized.topology.smoke_client_name)
    # Then it offers the admin flow only (AdminInitiateAuth needs IAM credentials) and no OAuth at all
    assert set(client["ExplicitAuthFlows"]) == {"ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert "AllowedOAuthFlows" not in client


def test_a_changed_email_counts_only_once_confirmed_and_mfa_follows_the_setting(synthesized: Synthesized) -> None:
    pool = _resource(synthesized, "AWS::Cognito::UserPool")
    assert pool["UserAttributeUpdateSettings"] == {"AttributesRequireVerificationBeforeUpdate": ["email"]}
    assert (pool["MfaConfiguration"], pool["EnabledMfas"]) == ("ON", ["SOFTWARE_TOKEN_MFA"])


@pytest.fixture(scope="module")
def unconfigured() -> tuple[Template, Annotations]:
    """The foundation of a deployment that says nothing about Cognito (``make synth`` out of the box)."""
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    stack = FoundationStack(app, "Foundation", topology=SAMPLE.for_stage("dev"), deployment=Deployment(stage="dev"))
    return Template.from_stack(stack), Annotations.from_stack(stack)


def test_without_callback_urls_no_oauth_flow_is_offered(unconfigured: tuple[Template, Annotations]) -> None:
    template, _ = unconfigured
    (client,) = template.find_resources(
        "AWS::Cognito::UserPoolClient", {"Properties": {"ClientName": SAMPLE.for_stage("dev").app_client_name}}
    ).values()
    assert "AllowedOAuthFlows" not in client["Properties"]
    assert client["Properties"].get("AllowedOAuthFlowsUserPoolClient") in (None, False)
    assert not template.find_resources("AWS::Cognito::UserPoolDomain")


def test_without_an_ses_sender_synth_warns_of_cognitos_daily_quota(unconfigured: tuple[Template, Annotations]) -> None:
    template, annotations = unconfigured
    (pool,) = template.find_resources("AWS::Cognito::UserPool").values()
    assert "SourceArn" not in pool["Properties"].get("EmailConfiguration", {})
    warnings = annotations.find_warning("*", cdk.assertions.Match.string_like_regexp("50 emails a day"))
    assert warnings
    assert pool["Properties"]["MfaConfiguration"] == "OPTIONAL"


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"callback_urls": ["http://app.example.com/cb"]}, "http only for localhost"),
        ({"callback_urls": ["https://app.example.com/#/cb"]}, "no fragment"),
        ({"mfa": "sometimes"}, "mfa"),
        ({"from_email": "not-an-address"}, "email address"),
        ({"implicit": True}, "implicit"),
    ],
)
def test_a_cognito_setting_cognito_would_misuse_stops_the_synth(settings: dict[str, object], problem: str) -> None:
    app = cdk.App(context={"keel:stages": {"dev": {}}, "keel:cognito": settings})
    with pytest.raises(DeploymentError, match=problem):
        Deployment.of(app, SAMPLE)


def test_localhost_may_be_a_callback_for_development() -> None:
    settings = CognitoSettings(callback_urls=("http://localhost:3000/cb",))
    assert settings.callback_urls == ("http://localhost:3000/cb",)
