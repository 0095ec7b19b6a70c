"""The `/v1` resources, in the order the docs list them: a new resource is one module under
`gateway/api/` and one line here. The app serves their routes, the OpenAPI document describes their
operations, and API keys may be given exactly the scopes they require."""

from __future__ import annotations

from gateway.api import (
    audit,
    branch_queues,
    complaints,
    loans,
    notifications,
    registrations,
    resets,
    service_requests,
    verifications,
)
from gateway.api.operations import Op

RESOURCES = (
    registrations,
    loans,
    branch_queues,
    complaints,
    service_requests,
    resets,
    verifications,
    notifications,
    audit,
)

OPERATIONS: tuple[Op, ...] = tuple(op for resource in RESOURCES for op in resource.OPERATIONS)
SCOPES: frozenset[str] = frozenset(resource.SCOPE for resource in RESOURCES)
# The operator's console (`/ops`): signs in with a key of this scope; no `/v1` route takes it.
OPS = "ops"
KEY_SCOPES: frozenset[str] = SCOPES | {OPS}
