"""The things context's consumer (built on ``keel.consumer``), under the name the topology uses."""

from tests.support.things import consumer_handler as handler

__all__ = ["handler"]
