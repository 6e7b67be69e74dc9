"""The first hop of the things chain: a consumer whose effect publishes an event of its own."""

from tests.support.things import forward_handler as handler

__all__ = ["handler"]
