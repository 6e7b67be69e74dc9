"""Two tenants, A and B, and callers of each as the authorizer context names them: the cast of the
kernel's tests through the "things" context (``tests/support/things.py``)."""

from __future__ import annotations

from tests.support.events import authorizer_context

TENANT_A = "ten_01JDAAAAAAAAAAAAAAAAAAAAAA"
TENANT_B = "ten_01JDBBBBBBBBBBBBBBBBBBBBBB"
ADMIN_A = authorizer_context(tenant_id=TENANT_A, role="admin")
ADMIN_B = authorizer_context(tenant_id=TENANT_B, role="admin")
MEMBER_B = authorizer_context(tenant_id=TENANT_B, role="member")
