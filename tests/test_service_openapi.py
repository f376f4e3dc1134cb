"""The running API against its own /openapi.json, with schemathesis generating the requests: no 5xx,
and every status code, content type and JSON body the server answers is one the spec declares."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service_run import Service

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ROOMY = "[service]\nrate_per_minute = 1000000\nmax_queued_jobs = 100000\nsync_budget_s = 0.5\n"


@pytest.fixture(scope="module")
def running(tmp_path_factory, model_home):
    folder = tmp_path_factory.mktemp("openapi")
    (folder / "roomy.toml").write_text(ROOMY)
    service = Service(folder)
    try:
        yield service.start_api("--config", str(folder / "roomy.toml"))
    finally:
        service.stop()


def test_api_matches_its_openapi(running):
    schema = schemathesis.openapi.from_url(running.url + "/openapi.json")
    headers = {"Authorization": f"Bearer {running.token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def conforms(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        conforms()


def test_openapi_lists_every_endpoint(running):
    import json

    spec = json.loads(running.get("/openapi.json")[1])
    assert set(spec["paths"]) == {"/healthz", "/v1/cutout", "/v1/jobs", "/v1/jobs/{id}", "/v1/jobs/{id}/result"}
