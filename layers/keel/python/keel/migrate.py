"""The Lambda that runs one context's data migrations (``keel.migrations``) in the cloud.

Each context with a table has one, with a role of its own: the only role in Keel that may ``Scan``.
It is invoked two ways:

- by ``keel migrate --stage S``, once per batch of pages: ``{"action": "status"}`` lists the migrations
  and where each stands; ``{"action": "run", "migration": "0001_x", "pages": 20, "dry_run": false}``
  applies up to that many pages and says how far it got. Whoever runs it needs only
  ``lambda:InvokeFunction``, never credentials to the table.
- by CloudFormation, as the custom resource every deploy of the context's stack updates before any of
  its functions' traffic shifts: it applies the migrations the template names that are not finished,
  re-invoking itself when its own time runs short, and answers CloudFormation when they are done
  (or failed: the deploy then stops and rolls back, and no new version takes traffic).

``KEEL_MIGRATIONS_TABLE`` and ``KEEL_MIGRATIONS_PACKAGE`` (set on this function only) name the table and
the package of migration modules.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic_settings import BaseSettings, SettingsConfigDict

from keel import aws, observability
from keel.migrations import Runner

SERVICE = "migrations"
#: A page is not started with less than this left of the invocation (a page takes well under a second).
RESERVE_MS = 60_000
#: Pages one ``run`` invocation applies at most, and by default.
MAX_PAGES, DEFAULT_PAGES = 1000, 20
#: CloudFormation's limit on a custom resource's failure reason.
_REASON_LIMIT = 1000


class MigrationSettings(BaseSettings):
    """``KEEL_MIGRATIONS_*``: which table, which migration modules."""

    model_config = SettingsConfigDict(env_prefix="KEEL_MIGRATIONS_", extra="ignore", frozen=True)

    table: str
    package: str


def _runner() -> Runner:
    settings = MigrationSettings()
    return Runner(settings.table, settings.package)


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    observability.bind(SERVICE, correlation_id=None, request_id=getattr(context, "aws_request_id", None))
    if "RequestType" in event:
        return _custom_resource(event, context)
    action = event.get("action")
    if action == "status":
        runner = _runner()
        return {
            "migrations": [status.as_dict() for status in runner.status()],
            "estimated_items": runner.estimated_items(),
        }
    if action == "run":
        return _run(event, context)
    raise ValueError(f"unknown action {action!r}: 'status' or 'run'")


def _run(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    migration, pages, dry_run = event.get("migration"), event.get("pages", DEFAULT_PAGES), event.get("dry_run", False)
    if not isinstance(migration, str) or not isinstance(dry_run, bool):
        raise ValueError("'migration' is a migration's id and 'dry_run' a boolean")
    if not isinstance(pages, int) or isinstance(pages, bool) or not 1 <= pages <= MAX_PAGES:
        raise ValueError(f"'pages' is a number of pages from 1 to {MAX_PAGES}")
    left = [pages]

    def more() -> bool:
        left[0] -= 1
        return left[0] >= 0 and context.get_remaining_time_in_millis() > RESERVE_MS

    return _runner().run(migration, dry_run=dry_run, more=more).as_dict()


def _custom_resource(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Apply the template's pending migrations, then answer CloudFormation (or hand over to a fresh
    invocation of this function when time runs short: it carries on from the recorded cursors)."""
    logger = observability.for_service(SERVICE).logger
    physical_id = event.get("PhysicalResourceId") or f"{event['LogicalResourceId']}-migrations"
    try:
        applied: list[str] = []
        if event["RequestType"] != "Delete":
            # Only the migrations this template names: on a rollback, the previous template's, all
            # finished, so a rollback never runs a migration again.
            wanted = [str(m) for m in event.get("ResourceProperties", {}).get("Migrations", [])]
            runner = _runner()
            for migration_id in runner.pending(iter(wanted)):
                progress = runner.run(migration_id, more=lambda: context.get_remaining_time_in_millis() > RESERVE_MS)
                if not progress.finished:
                    logger.info("migration continues in a new invocation", extra=progress.as_dict())
                    aws.client("lambda").invoke(
                        FunctionName=context.invoked_function_arn, InvocationType="Event", Payload=json.dumps(event)
                    )
                    return {"continued": migration_id}
                applied.append(migration_id)
                logger.info("migration finished", extra=progress.as_dict())
        _answer(event, "SUCCESS", physical_id, data={"Applied": ",".join(applied)})
        return {"applied": applied}
    except Exception as exc:
        logger.exception("migrations failed; the deploy stops here")
        _answer(event, "FAILED", physical_id, reason=f"{type(exc).__name__}: {exc}"[:_REASON_LIMIT])
        return {"failed": str(exc)}


def _answer(
    event: dict[str, Any], status: str, physical_id: str, *, reason: str = "", data: dict[str, str] | None = None
) -> None:
    """Tell CloudFormation how the custom resource went (a PUT to the pre-signed URL it gave)."""
    body = {
        "Status": status,
        "Reason": reason or status.lower(),
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data or {},
    }
    url = str(event["ResponseURL"])
    if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
        raise ValueError("CloudFormation's response URL must be https")
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's pre-signed https URL, checked above
        url, data=json.dumps(body).encode(), method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - checked above
        pass
