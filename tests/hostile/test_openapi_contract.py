"""schemathesis over every operation of the served OpenAPI document, against `keyledger serve`.

Each operation gets schema-valid and schema-violating requests, with real credentials for
its security requirement or none, and every answer must be no 5xx, a documented status,
a documented content type and a body and headers that match the document. The default run
is bounded; `make fuzz` runs the larger one (marker `slow`).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err, Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.hostile.conftest import Credentials

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize(
    "examples",
    [pytest.param(6, id="bounded"), pytest.param(150, id="large", marks=pytest.mark.slow)],
)
def test_every_operation_answers_as_its_openapi_document_says(
    hostile_server: str, credentials: Credentials, examples: int
) -> None:
    document = httpx.get(f"{hostile_server}/schema/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    results = list(schema.get_all_operations())
    invalid = [result.err() for result in results if isinstance(result, Err)]
    assert not invalid, invalid  # the document itself is valid OpenAPI
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    documented = sum(
        method in ("get", "put", "post", "delete") for item in document["paths"].values()
        for method in item
    )  # fmt: skip
    assert len(operations) == documented >= 54
    sent: dict[int, int] = {}
    failures: list[str] = []
    with requests.Session() as session:
        for operation in operations:
            requirements: list[dict[str, list[str]]] = operation.definition.raw.get(
                "security", [{}]
            )
            strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
                GenerationMode.NEGATIVE
            )

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy, requirement=st.sampled_from([*requirements, None]))
            def exercise(case: Any, requirement: dict[str, list[str]] | None) -> None:
                headers = {} if requirement is None else credentials.for_requirement(requirement)
                response = case.call(
                    base_url=hostile_server, session=session, headers=headers, timeout=60
                )
                sent[response.status_code] = sent.get(response.status_code, 0) + 1
                case.validate_response(response, checks=CHECKS)

            try:
                exercise()
            except Exception as failure:  # every operation runs; all failures are reported
                failures.append(f"{operation.label}: {failure}")
    print(f"schemathesis: {sum(sent.values())} requests, statuses {sorted(sent.items())}")
    assert not failures, "\n\n".join(failures)
    assert not any(status >= 500 for status in sent)
