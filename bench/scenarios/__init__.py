"""One scenario per context: the steps ``make bench`` drives through that context's real handlers.

A scenario is a function ``(harness) -> list[Step]``; the harness (``bench.harness``) gives it an
in-process API client with a signed-in caller, on moto provisioned from the topology.
"""
