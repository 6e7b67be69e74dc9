"""The second hop of the things chain: records each envelope it receives (``things.WITNESSED``)."""

from tests.support.things import witness_handler as handler

__all__ = ["handler"]
