"""A bounded schemathesis run over the whole OpenAPI spec, in process, as an admin: no request the
spec allows (or, in negative mode, nearly allows) may end in a 5xx, and every answer must match the
spec (documented status, content type, headers and body schema).

Deterministic for CI: derandomised Hypothesis and a fixed number of examples per operation, so a
run takes a minute or two on two cores and finds the same things every time."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fixtures.web import Web

pytestmark = pytest.mark.slow

EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}
CHECKS: list[Any] = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_the_api_answers_every_request_within_its_spec(web: Web) -> None:
    token = web.api_client("admin").headers["authorization"]
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", web.app)
    problems: dict[str, str] = {}
    statuses: Counter[int] = Counter()
    operations = 0
    started = time.perf_counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode, examples in EXAMPLES.items():

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                derandomize=True,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                try:
                    response = case.call(headers={"Authorization": token})
                except Exception as exc:  # the app's 500 handler answered, and the client re-raised
                    statuses[500] += 1
                    problems.setdefault(
                        f"{operation.label} [{mode.value}]: {type(exc).__name__}",
                        f"{exc!s:.200} <- {case.path_parameters} {case.query} {str(case.body)[:200]}",
                    )
                    return
                statuses[response.status_code] += 1
                try:
                    case.validate_response(response, checks=CHECKS)
                except (Failure, FailureGroup) as exc:
                    failures = exc.exceptions if isinstance(exc, FailureGroup) else (exc,)
                    for f in failures:
                        key = f"{operation.label} [{mode.value}]: {f.title}"
                        problems.setdefault(
                            key,
                            f"{response.status_code} {response.text[:200]!r} <- {case.path_parameters} {case.query} {str(case.body)[:200]}",
                        )

            try:
                run()
            except Unsatisfiable:  # nothing to negate in an operation without parameters
                continue
    elapsed = time.perf_counter() - started
    print(
        f"schemathesis: {operations} operations, {statuses.total()} requests in {elapsed:.0f} s; statuses {dict(statuses)}"
    )
    assert not problems, "\n".join(f"{k}\n    {v}" for k, v in sorted(problems.items()))
    assert not [s for s in statuses if s >= 500]
