"""Wire compatibility with the official eHealth spec (the excerpt in ../shared/reference/).

Integrators already code against upstream's resend_otp: same path and method, same required
fields of `data` with the same JSON types, and our real response must validate against upstream's
own response schema. The excerpt lives beside the repository (`../shared/reference/`); on a
machine without it these tests skip with the reason, under CI (`CI` set) they fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from declaration_otp.spec import load_spec
from tests.conftest import World
from tests.servers import unavailable

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference" / "ehealth-declaration-requests-v3.openapi.yaml"
RESEND = "/api/v3/declaration_requests/{id}/actions/resend_otp"


@pytest.fixture(scope="module")
def upstream() -> dict[str, Any]:
    if not REFERENCE.is_file():
        reason = f"upstream reference spec not found at {REFERENCE} (shared/ beside the repository)"
        unavailable(reason)
    with REFERENCE.open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.safe_load(handle)
    return spec


def _deref(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _success_schema(spec: dict[str, Any], status: str) -> dict[str, Any]:
    response = _deref(spec, spec["paths"][RESEND]["post"]["responses"][status])
    return _deref(spec, response["content"]["application/json"]["schema"])  # type: ignore[no-any-return]


def test_resend_otp_has_upstream_path_method_and_data_fields(upstream: dict[str, Any]) -> None:
    ours = load_spec()
    assert "post" in upstream["paths"][RESEND]
    assert "post" in ours["paths"][RESEND], "resend_otp moved away from the upstream path"

    theirs_data = _success_schema(upstream, "200")["properties"]["data"]
    ours_data = _deref(ours, _success_schema(ours, "200")["properties"]["data"])
    missing = set(theirs_data["required"]) - set(ours_data["required"])
    assert not missing, f"fields upstream requires that we do not: {sorted(missing)}"
    for name in theirs_data["required"]:
        theirs_type = theirs_data["properties"][name]["type"]
        ours_type = ours_data["properties"][name]["type"]
        assert ours_type == theirs_type, f"data.{name}: ours {ours_type}, upstream {theirs_type}"
        upstream_values = theirs_data["properties"][name].get("enum")
        if upstream_values is not None:
            assert set(upstream_values) <= set(ours_data["properties"][name]["enum"]), name


def test_real_resend_response_validates_against_upstream_schema(
    upstream: dict[str, Any], world: World
) -> None:
    request_id = world.create_ok()["id"]
    world.backend.clock.advance(61)  # past the resend cooldown of the first code
    response = world.resend(request_id)
    assert response.status_code == 200, response.text
    # The upstream schema with its components, so that its `#/components/...` refs resolve.
    schema = {**_success_schema(upstream, "200"), "components": upstream["components"]}
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(response.json())]
    assert not errors
    data = response.json()["data"]
    # Values as upstream sends them: the new code is NEW and active.
    assert (data["status"], data["active"]) == ("NEW", True)
    assert data["code_expired_at"].endswith("Z")
