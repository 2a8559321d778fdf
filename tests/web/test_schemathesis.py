"""A bounded schemathesis run over the whole OpenAPI spec, in process, as an admin: no request the
spec allows (or, in negative mode, nearly allows) may end in a 5xx, and every answer must match the
spec (documented status, content type, headers and body schema).

Deterministic for CI: derandomised Hypothesis and a fixed number of examples per operation, so a
run takes well under a minute per database on two cores and finds the same things every time."""

from __future__ import annotations

import contextlib
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


class Run:
    def __init__(self, token: str) -> None:
        self.token = token
        self.problems: dict[str, str] = {}
        self.statuses: Counter[int] = Counter()

    def operation(self, operation: Any, mode: GenerationMode, examples: int) -> None:
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
            self.case(case, f"{operation.label} [{mode.value}]")

        with contextlib.suppress(Unsatisfiable):  # nothing to negate in an operation without parameters
            run()

    def case(self, case: Any, label: str) -> None:
        sent = f"{case.path_parameters} {case.query} {str(case.body)[:200]}"
        try:
            response = case.call(headers={"Authorization": self.token})
        except Exception as exc:  # the app's 500 handler answered, and the test client re-raised
            self.statuses[500] += 1
            self.problems.setdefault(f"{label}: {type(exc).__name__}", f"{exc!s:.200} <- {sent}")
            return
        self.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (Failure, FailureGroup) as exc:
            for f in exc.exceptions if isinstance(exc, FailureGroup) else (exc,):
                self.problems.setdefault(
                    f"{label}: {f.title}", f"{response.status_code} {response.text[:200]!r} <- {sent}"
                )


def test_the_api_answers_every_request_within_its_spec(web: Web) -> None:
    run = Run(web.api_client("admin").headers["authorization"])
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", web.app)
    started = time.perf_counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode, examples in EXAMPLES.items():
            run.operation(operation, mode, examples)
    print(
        f"schemathesis: {len(operations)} operations, {run.statuses.total()} requests in "
        f"{time.perf_counter() - started:.0f} s; statuses {dict(run.statuses)}"
    )
    assert not run.problems, "\n".join(f"{k}\n    {v}" for k, v in sorted(run.problems.items()))
    assert not [s for s in run.statuses if s >= 500]
