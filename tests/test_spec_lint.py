"""scripts/lint_spec: the spec passes, and each rule catches what it is there for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
LINT = ROOT / "scripts" / "lint_spec"
SPEC = ROOT / "openapi" / "openapi.yaml"
RESEND = "/api/v3/declaration_requests/{id}/actions/resend_otp"


def run_lint(spec_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(LINT), str(spec_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_spec_passes_the_lint() -> None:
    result = run_lint(SPEC)
    assert result.returncode == 0, result.stdout + result.stderr


def _broken(tmp_path: Path, change: Any) -> Path:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    change(spec)
    target = tmp_path / "openapi.yaml"
    target.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return target


def _resend(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["paths"][RESEND]["post"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: _resend(s).pop("security"), "no `security` of its own"),
        (lambda s: _resend(s)["responses"].pop("401"), "does not declare 401"),
        (lambda s: _resend(s)["responses"].pop("429"), "does not declare 429 (its handler"),
        (lambda s: _resend(s)["responses"].pop("404"), "does not declare 404 (its handler"),
        (lambda s: _resend(s).update(description=""), "no description"),
        (
            lambda s: _resend(s).update(operationId="handlers.declaration_requests.nope"),
            "does not resolve to a handler",
        ),
        (
            lambda s: s["components"]["schemas"]["Verification"]["properties"]["active"].update(
                type="string"
            ),
            "response 200 example: data/active",
        ),
        (
            lambda s: _resend(s)["responses"]["200"]["content"]["application/json"].pop("example"),
            "response 200: no example",
        ),
    ],
    ids=[
        "security",
        "401",
        "429-from-handler",
        "404-from-handler",
        "description",
        "operationId",
        "example-vs-schema",
        "example",
    ],
)
def test_each_rule_catches_its_problem(tmp_path: Path, change: Any, expected: str) -> None:
    result = run_lint(_broken(tmp_path, change))
    assert result.returncode == 1, result.stdout
    assert f"POST {RESEND}: " in result.stdout
    assert expected in result.stdout, result.stdout
