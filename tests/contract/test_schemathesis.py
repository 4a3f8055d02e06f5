"""Property-based contract tests: schemathesis generates requests for every operation of the spec.

Every operation, the ones added after this file was written included, is exercised with valid
tokens through the session app (SQLite and PostgreSQL), in positive and negative modes, with a
fixed number of examples and deterministic generation. Each response must:

* never be a 5xx;
* have a status code, headers, content type and body the spec declares for the operation;
* be the eHealth envelope (`meta` + `data` or `error`), with `meta.code` the status and
  `meta.request_id` the `X-Request-ID` response header.

Generated ids rarely exist, so in positive mode half the cases get their `id` path parameter and
their `person_id`/`employee_id`/`division_id` body properties replaced by real ones of the test's
legal entity: the operations then also run past the 404 into their business rules.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis import Case
from schemathesis.generation import GenerationMode

from declaration_otp.spec import load_spec
from tests.conftest import World

pytestmark = pytest.mark.contract

MAX_EXAMPLES = int(os.environ.get("CONTRACT_MAX_EXAMPLES", "60"))

# The spec the app serves (connexion serves openapi/openapi.yaml as it is).
schema = schemathesis.openapi.from_dict(copy.deepcopy(load_spec()))
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
)
# Well-formed requests may still break a business rule: eHealth answers those with 409, 422
# (status, authentication method, code) and 429 (send limits), all declared per operation.
schema.config.checks.positive_data_acceptance.expected_statuses = [
    "2XX",
    "401",
    "403",
    "404",
    "409",
    "422",
    "429",
]


def _envelope(ctx: Any, response: Any, case: Case) -> bool | None:
    """The eHealth envelope, on every response the operation declares as one."""
    body = json.loads(response.content)
    assert isinstance(body, dict), "the body is not a JSON object"
    meta = body.get("meta")
    assert isinstance(meta, dict), "no `meta` object"
    assert meta.get("code") == response.status_code, f"meta.code {meta.get('code')!r}"
    assert meta.get("type") in ("object", "list"), f"meta.type {meta.get('type')!r}"
    assert isinstance(meta.get("url"), str), "meta.url is not a string"
    assert meta.get("request_id") == response.headers.get("x-request-id", [None])[0], (
        "meta.request_id differs from the X-Request-ID header"
    )
    if response.status_code >= 400:
        assert set(body) == {"meta", "error"}, f"error body keys {sorted(body)}"
        assert isinstance(body["error"].get("type"), str), "error.type"
        assert isinstance(body["error"].get("message"), str), "error.message"
    else:
        assert "data" in body and "error" not in body, f"success body keys {sorted(body)}"
    return None


def _fingerprint(case: Case) -> int:
    text = json.dumps(
        [case.path_parameters, case.query, str(case.body)], sort_keys=True, default=str
    )
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def _use_real_ids(case: Case, world: World) -> None:
    """Point half of the positive cases at records that exist."""
    if case.meta is not None and case.meta.generation.mode.is_negative:
        return
    if _fingerprint(case) % 2:
        return
    if case.path_parameters and "id" in case.path_parameters:
        offline = _fingerprint(case) % 7 == 0
        case.path_parameters["id"] = _real_request_id(world, offline=offline)
    if isinstance(case.body, dict):
        real = {
            "person_id": world.otp_person_id,
            "employee_id": world.doctor_id,
            "division_id": world.division_id,
        }
        for name, value in real.items():
            if name in case.body:
                case.body[name] = value


_REAL_IDS: dict[tuple[str, bool], str] = {}


def _real_request_id(world: World, *, offline: bool) -> str:
    """One OTP and one OFFLINE request per test: more would only hit the phone's send limits."""
    key = (world.legal_entity_id, offline)
    if key not in _REAL_IDS:
        _REAL_IDS[key] = world.create_ok(world.offline_person_id if offline else None)["id"]
    return _REAL_IDS[key]


def _send(case: Case, world: World) -> Any:
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=world.headers)
    prepared = requests.Request(
        method=kwargs["method"],
        url=kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        data=kwargs.get("data"),
        json=kwargs.get("json"),
        cookies=kwargs.get("cookies"),
        files=kwargs.get("files"),
    ).prepare()
    return world.backend.client.request(
        prepared.method or case.method,
        prepared.url or "",
        headers=dict(prepared.headers),
        content=prepared.body,
    )


@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_every_operation_keeps_the_contract(case: Case, world: World) -> None:
    _use_real_ids(case, world)
    response = _send(case, world)
    assert response.status_code < 500, response.text
    case.validate_response(response, additional_checks=[_envelope])
