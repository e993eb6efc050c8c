"""Property-based tests against the published OpenAPI schema (schemathesis + Hypothesis).

Every operation gets generated requests (valid and invalid bodies, odd path and query values)
with a fresh token of the role the route is meant for: no 5xx, the status code and the body
must be the documented ones. The same request without a session must get 401 (except the
login). Accounts the fuzzer disables, demotes or deletes are put back before each example.
The example count is bounded (derandomized, so a failure reproduces) to stay well under 60 s.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import Api

ROLE_USERS = {"agent": ("a1001", "agent"), "supervisor": ("sup", "supervisor"),
              "admin": ("admin", "administrator")}  # fmt: skip
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 500


def user_for(path: str) -> tuple[str, str]:
    for part, who in (("/agent/", "agent"), ("/supervisor/", "supervisor"), ("/admin/", "admin")):
        if part in path:
            return ROLE_USERS[who]
    return ROLE_USERS["admin"]


def token_for(api: Api, username: str, role: str) -> str:
    """A fresh session of ``username``, re-created or re-enabled if the fuzzer broke it."""
    users = api.store.users
    user = users.get_by_username(username)
    now = datetime.now(UTC)
    if user is None:
        user = users.create(username, username, role, "fuzz-password", now)
        if username == "a1001" and api.store.agents.get(1001) is not None:
            api.store.agents.delete(1001)
            api.store.agents.create(1001, "王芳", "agent", now, skills={}, user_id=user.id)
    elif not user.enabled or user.role != role:
        users.update(user.id, enabled=True, role=role)
    return api.store.tokens.issue(user.id, "session", now, timedelta(minutes=5)).token


def test_published_schema_holds_for_generated_requests(api: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    seen: set[str] = set()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=st.sampled_from(operations).flatmap(lambda op: op.as_strategy()))
    def check(case: schemathesis.Case) -> None:
        path = case.operation.path
        seen.add(f"{case.method} {path}")
        username, role = user_for(path)
        token = token_for(api, username, role)
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        case.validate_response(response, checks=CHECKS)
        if path != "/api/v1/auth/login":
            anonymous = case.call(headers={"Authorization": ""})
            assert anonymous.status_code == 401, (case.method, path, anonymous.text)

    check()
    assert len(seen) > len(operations) // 2  # most operations were exercised
