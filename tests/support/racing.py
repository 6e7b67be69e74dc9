"""Races for concurrency tests: a DynamoDB client that lines racers' writes up at a barrier, and the
racers themselves, each on its own thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from keel import aws


class RacingClient:
    """A DynamoDB client that holds each racer's first TransactWriteItems at a barrier until all
    racers are about to write, then runs them in turn; a racer's retries, and every other request,
    go straight through."""

    def __init__(self, racers: int, *, timeout: float = 20) -> None:
        self.barrier = threading.Barrier(racers, timeout=timeout)
        self.turn = threading.Lock()
        self.raced = threading.local()

    def transact_write_items(self, **request: Any) -> Any:
        if not getattr(self.raced, "done", False):
            self.raced.done = True
            self.barrier.wait()
        with self.turn:
            return aws.dynamodb().transact_write_items(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(aws.dynamodb(), name)


def race(*calls: Callable[[], Any], timeout: float = 30) -> list[Any]:
    """Run each of ``calls`` on its own thread at once; each one's result, or the exception it raised."""
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            results[index] = calls[index]()
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results
