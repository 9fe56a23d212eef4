"""Property-based fuzzing of the REST API from its own OpenAPI schema (schemathesis): no 500s, responses as declared.

The app runs with access control fully on (key for reads and writes), so the published schema declares security
everywhere but /health, and schemathesis also checks that requests without the key are refused. Each operation
gets valid (positive) and invalid (negative) requests; hypothesis drives the generation directly, one test per
operation and mode, against the ASGI app with the real model over a two-article index.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from qa_service.api import create_app
from qa_service.service import QAService

from .conftest import SEEDS, STORES, make_settings, store_settings

KEY = "fuzz-key-0123456789"
MAX_EXAMPLES = 50
OPERATIONS = [
    (method.upper(), path)
    for path, methods in create_app(make_settings(Path("unused"))).openapi()["paths"].items()
    for method in methods
]


@pytest.fixture(scope="module", params=STORES)
def api_schema(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    embedder,  # noqa: ANN001
) -> schemathesis.BaseSchema:
    index_dir = tmp_path_factory.mktemp(f"fuzz-index-{request.param}")
    service = QAService(make_settings(index_dir, **store_settings(request.param)), embedder=embedder).load()
    service.ingest_paths([SEEDS / "000_f6e0c52e4f6527ee.txt", SEEDS / "001_3bcbd3b699cef101.txt"], progress=False)
    app: FastAPI = create_app(
        make_settings(service.settings.index_dir, api_key=KEY, require_key_for_reads=True), service
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.slow
@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_operation_conforms_to_its_schema(
    api_schema: schemathesis.BaseSchema, method: str, path: str, mode: schemathesis.GenerationMode
) -> None:
    operation = api_schema[path][method]
    calls = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def fuzz(case: schemathesis.Case) -> None:
        response = case.call_and_validate(headers={"Authorization": f"Bearer {KEY}"})
        calls.append(response.status_code)

    try:
        fuzz()
    except Unsatisfiable:
        pytest.skip("no parameters or body to make invalid")
    assert calls and all(code < 500 for code in calls)
    print(f"{method} {path} {mode.value}: {len(calls)} calls, statuses {sorted(set(calls))}")
