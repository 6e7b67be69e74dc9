"""Tenant credentials: what acting with a tenant's own credentials (``keel.isolation``) adds to a request.

A container assumes a tenant's role (STS ``AssumeRole`` with the tenant as a session tag) on the first
request of that tenant and keeps the credentials for the hour; later requests of the tenant pay nothing.
Measured on the running local runtime (its moto's STS and DynamoDB): the first DynamoDB read of each new
tenant in this process, against that tenant's later reads. A report, not a budget: in AWS, AssumeRole
takes tens of milliseconds where moto takes a few.
"""

from __future__ import annotations

import statistics
import time

from bench.harness import Harness
from keel import ids, isolation
from keel.store import get_item, tenant_pk

TENANTS = 30
LATER_READS = 5


def _read_ms(table: str, tenant_id: str) -> float:
    started = time.perf_counter()
    with isolation.acting_for(tenant_id):
        get_item(table, tenant_pk(tenant_id), "PLAN")
    return (time.perf_counter() - started) * 1000


def measure(table: str, tenants: int = TENANTS, later: int = LATER_READS) -> tuple[list[float], list[float]]:
    """The first read of each of ``tenants`` new tenants, and ``later`` reads of each after it (ms)."""
    first: list[float] = []
    again: list[float] = []
    for _ in range(tenants):
        tenant_id = ids.new_id("ten")
        first.append(_read_ms(table, tenant_id))
        again += [_read_ms(table, tenant_id) for _ in range(later)]
    return first, again


def report(harness: Harness) -> int:
    """Print the first and later reads of new tenants; never a breach (the cost is AWS's, not ours)."""
    ctx = next(c for c in harness.runtime.topology.contexts if c.table and c.acts_for_tenants)
    measure(ctx.table_name, tenants=3)  # warm-up: the shared session's service model, the STS client
    first, later = measure(ctx.table_name)
    first_ms, later_ms = statistics.median(first), statistics.median(later)
    print(
        "\nTenant credentials (keel.isolation): a container's first DynamoDB read for a tenant assumes the"
        f"\ntenant's role (STS AssumeRole, session tag tenant_id) and keeps it an hour; on {ctx.table_name},"
        f" {len(first)} new tenants, against the local moto"
    )
    print(f"  first read of a tenant:  p50 {first_ms:6.2f} ms, max {max(first):6.2f} ms")
    print(f"  later reads (cached):    p50 {later_ms:6.2f} ms, max {max(later):6.2f} ms")
    print(f"  added per new tenant per container: {first_ms - later_ms:6.2f} ms (AWS STS: expect tens of ms)")
    return 0
