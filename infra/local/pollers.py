"""Background loops that do what Lambda's event source mappings do in AWS.

- ``QueuePoller``: receives up to ``batch_size`` messages from a consumer's queue, calls the
  consumer (twice while ``duplicates`` is set), deletes only the messages it did not report in
  ``batchItemFailures`` and makes the failures visible again after ``retry_delay_seconds``; moto's
  redrive then moves a message to the DLQ on the receive after its fifth.
- ``StreamPoller``: reads a table's stream, calls the outbox relay and, when the relay reports
  failures (or raises), reads again from the first failed sequence number after a backoff.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from infra.local import moto_patches, moto_state
from infra.local.lambdas import LocalFunction
from infra.local.shapes import sqs_record, stream_record

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger("keel.local")

_MAX_BACKOFF_SECONDS = 30.0


def backoff(attempt: int) -> float:
    """0.5 s, 1 s, 2 s ... up to 30 s."""
    return float(min(_MAX_BACKOFF_SECONDS, 0.5 * 2.0 ** min(max(attempt - 1, 0), 6)))


class BackgroundLoop:
    """A daemon thread calling ``run_once`` until stopped; ``run_once`` returns how long to rest."""

    kind = "loop"

    def __init__(self, name: str) -> None:
        self.name = name
        self.state = "starting"
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures_in_a_row = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"{self.kind}:{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def restart(self) -> None:
        """Run again after ``stop`` and ``join`` (the bench pauses a poller to consume a message itself)."""
        if self.is_alive():
            raise RuntimeError(f"{self.kind}:{self.name} is still running")
        self._stop.clear()
        self.start()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
        self.state = "stopped" if not self.is_alive() else "stopping"

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_once(self) -> float:
        raise NotImplementedError

    def _run(self) -> None:
        self.state = "ok"
        while not self._stop.is_set():
            try:
                rest = self.run_once()
                self.state, self.last_error, self._failures_in_a_row = "ok", None, 0
            except Exception as exc:  # a loop must outlive any one failure
                if self._stop.is_set():
                    break
                self._failures_in_a_row += 1
                self.state, self.last_error = "failing", f"{type(exc).__name__}: {exc}"
                if self._failures_in_a_row == 1:
                    log.warning("%s %s failed: %s (retrying)", self.kind, self.name, self.last_error)
                rest = backoff(self._failures_in_a_row)
            if rest > 0:
                self.rest(rest)

    def rest(self, seconds: float) -> None:
        """Wait ``seconds`` before the next round, or less when told to stop."""
        self._stop.wait(seconds)

    def status(self) -> dict[str, Any]:
        state = self.state if self.is_alive() or self.state in ("stopped", "starting") else "dead"
        return {"status": state, "last_error": self.last_error}


class WholeBatch:
    """Marker: the whole batch failed (the function raised or answered something unusable)."""


WHOLE_BATCH = WholeBatch()


def reported_failures(result: Any, identifiers: Collection[str]) -> set[str] | WholeBatch:
    """The failed items of a batch, by Lambda's ``ReportBatchItemFailures`` rules.

    An empty or missing ``batchItemFailures`` is success; an identifier that is empty or not in the
    batch, or a response that is not an object, fails the whole batch.
    """
    if result is None:
        return set()
    if not isinstance(result, dict):
        return WHOLE_BATCH
    items = result.get("batchItemFailures")
    if not items:
        return set()
    if not isinstance(items, list):
        return WHOLE_BATCH
    failed: set[str] = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in identifiers:
            return WHOLE_BATCH
        failed.add(identifier)
    return failed


def _invoke_batch(function: LocalFunction, event: dict[str, Any], identifiers: Sequence[str]) -> set[str]:
    try:
        result = function.invoke(event)
    except Exception:  # a raising consumer fails its batch, as on Lambda
        log.exception("%s raised; the whole batch of %d will be retried", function.name, len(identifiers))
        return set(identifiers)
    failed = reported_failures(result, identifiers)
    if isinstance(failed, WholeBatch):
        log.error("%s answered %r: not a valid batch response, the whole batch fails", function.name, result)
        return set(identifiers)
    return failed


class QueuePoller(BackgroundLoop):
    kind = "queue-poller"

    def __init__(
        self,
        *,
        sqs: SQSClient,
        function: LocalFunction,
        queue_name: str,
        queue_url: str,
        queue_arn: str,
        region: str,
        batch_size: int,
        retry_delay_seconds: int,
        # A long poll: moto answers as soon as a message arrives, so a longer wait costs no latency,
        # only requests (and up to this long to stop). One a second per queue kept keel dev busy idling.
        wait_seconds: int = 5,
        duplicates: threading.Event | None = None,
    ) -> None:
        super().__init__(queue_name)
        self.sqs = sqs
        self.function = function
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.region = region
        self.batch_size = max(1, min(batch_size, 10))
        self.retry_delay_seconds = retry_delay_seconds
        self.wait_seconds = wait_seconds
        self.succeeded = 0
        self.failed = 0
        #: While set, every batch is delivered twice (SQS's at-least-once, made certain): consumers must not care.
        self.duplicates = duplicates or threading.Event()

    def run_once(self) -> float:
        received = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = received.get("Messages", [])
        if not messages:
            return 0
        records = [sqs_record(m, queue_arn=self.queue_arn, region=self.region) for m in messages]
        ids = [record["messageId"] for record in records]
        failed = _invoke_batch(self.function, {"Records": records}, ids)
        if self.duplicates.is_set():
            failed |= _invoke_batch(self.function, {"Records": records}, ids)
        self._settle(messages, failed)
        return 0

    def _settle(self, messages: Sequence[Any], failed: set[str]) -> None:
        done = [m for m in messages if m["MessageId"] not in failed]
        again = [m for m in messages if m["MessageId"] in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        if again:
            # Locally a failure comes back in seconds, not after the full visibility timeout.
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {
                        "Id": str(i),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": self.retry_delay_seconds,
                    }
                    for i, m in enumerate(again)
                ],
            )
            log.warning(
                "%s: %d of %d messages failed; retrying in %d s",
                self.function.name,
                len(again),
                len(messages),
                self.retry_delay_seconds,
            )
        self.succeeded += len(done)
        self.failed += len(again)

    def status(self) -> dict[str, Any]:
        return super().status() | {
            "function": self.function.name,
            "succeeded": self.succeeded,
            "failed": self.failed,
        }


class StreamPoller(BackgroundLoop):
    kind = "stream-poller"

    def __init__(
        self,
        *,
        streams: DynamoDBStreamsClient,
        function: LocalFunction,
        table_name: str,
        stream_arn: str,
        region: str,
        batch_size: int = 100,
        idle_seconds: float = 1.0,
    ) -> None:
        super().__init__(table_name)
        self.streams = streams
        self.function = function
        self.stream_arn = stream_arn
        self.region = region
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.delivered = 0
        self.retries_in_a_row = 0
        self.last_delivery: str | None = None
        self._shard_id: str | None = None
        self._iterator: str | None = None
        self._appends_seen = 0
        self._idle = False

    def _iterator_at(self, kind: str, sequence_number: str | None = None) -> str:
        if self._shard_id is None:
            shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
            self._shard_id = shards[0]["ShardId"]
        params: dict[str, Any] = {
            "StreamArn": self.stream_arn,
            "ShardId": self._shard_id,
            "ShardIteratorType": kind,
        }
        if sequence_number is not None:
            params["SequenceNumber"] = sequence_number
        return self.streams.get_shard_iterator(**params)["ShardIterator"]

    def _move_to(self, iterator: str) -> None:
        if self._iterator is not None and self._iterator != iterator:
            moto_state.forget_shard_iterator(self._iterator, self.region)
        self._iterator = iterator

    def run_once(self) -> float:
        if self._iterator is None:
            # The table is new when the runtime starts, so the stream's first record is ours to deliver.
            self._move_to(self._iterator_at("TRIM_HORIZON"))
        assert self._iterator is not None
        self._appends_seen = moto_patches.stream_appends()
        page = self.streams.get_records(ShardIterator=self._iterator, Limit=self.batch_size)
        records = page.get("Records", [])
        if not records:
            self._move_to(page["NextShardIterator"])
            self._idle = True
            return self.idle_seconds
        self._idle = False
        shaped = [stream_record(r, stream_arn=self.stream_arn) for r in records]
        sequence = [r["dynamodb"]["SequenceNumber"] for r in shaped]
        failed = _invoke_batch(self.function, {"Records": shaped}, sequence)
        self._forget_delivered(sequence, failed)
        if not failed:
            self.delivered += len(shaped)
            self.retries_in_a_row = 0
            self.last_delivery = datetime.now(UTC).isoformat(timespec="seconds")
            self._move_to(page["NextShardIterator"])
            return 0
        first_failed = next(number for number in sequence if number in failed)
        self.delivered += sequence.index(first_failed)
        self.retries_in_a_row += 1
        self._move_to(self._iterator_at("AT_SEQUENCE_NUMBER", first_failed))
        # Nothing is skipped: the shard waits on this record, as a stream mapping without a retry limit does.
        delay = backoff(self.retries_in_a_row)
        log.warning(
            "%s: record %s failed (attempt %d); re-reading the stream from it in %.1f s",
            self.function.name,
            first_failed,
            self.retries_in_a_row,
            delay,
        )
        return delay

    def rest(self, seconds: float) -> None:
        # An empty stream: wake on the next record this process appends (moto runs in keel dev's
        # process), not on a timer; ``idle_seconds`` is only the longest wait. Retries keep their delay.
        if self._idle:
            moto_patches.wait_for_stream_append(self._appends_seen, min(seconds, self.idle_seconds))
        else:
            super().rest(seconds)

    def _forget_delivered(self, sequence: Sequence[str], failed: set[str]) -> None:
        # The relay has published these: trim them, as DynamoDB's 24 h retention eventually would.
        delivered = list(itertools.takewhile(lambda number: number not in failed, sequence))
        if delivered:
            moto_patches.trim_stream(self.name, delivered[-1], self.region)

    def status(self) -> dict[str, Any]:
        return super().status() | {
            "function": self.function.name,
            "delivered": self.delivered,
            "retries_in_a_row": self.retries_in_a_row,
            "last_delivery": self.last_delivery,
        }


def stop_all(loops: Sequence[BackgroundLoop], timeout: float) -> None:
    """Ask every loop to stop, then wait for them together (each finishes its current batch)."""
    for loop in loops:
        loop.stop()
    deadline = time.monotonic() + timeout
    for loop in loops:
        loop.join(max(0.0, deadline - time.monotonic()))
