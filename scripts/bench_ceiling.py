"""The framework ceiling for `scripts/bench`: the product's HTTP stack with no database work.

`app()` is the product app (`create_app`: the same middlewares, validators, error handlers and
envelope) plus one extra API that exists only here, never in the product spec:

    POST /bench/constant/{id}/actions/resend_otp      oauth2 [otp:write]

Its token function returns a constant caller without looking anything up, connexion still checks
the scope and validates the path parameter (a UUID) as for resend_otp, and the handler, wrapped by
the same `as_endpoint`, returns a constant verification in the eHealth envelope. What it costs is
what any request costs before and after its database work: the ceiling a handler could reach.

Started by `scripts/bench` as `uvicorn bench_ceiling:app --factory` (scripts/ on sys.path).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from connexion.resolver import Resolver

from declaration_otp import app as product
from declaration_otp import auth
from declaration_otp.envelope import Ok
from declaration_otp.service_app import ServiceApp
from declaration_otp.settings import Settings
from declaration_otp.validation import VALIDATOR_MAP

CLIENT_ID = "10000000-0000-4000-8000-000000000001"
_TOKEN_INFO = {"client_id": CLIENT_ID, "user_id": "bench", "sub": "bench", "scope": ["otp:write"]}
_DATA = {
    "id": "20000000-0000-4000-8000-000000000002",
    "status": "NEW",
    "code_expired_at": "2030-01-01T00:00:00.000000Z",
    "active": True,
}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "bench ceiling", "version": "1"},
    "paths": {
        "/constant/{id}/actions/resend_otp": {
            "post": {
                "operationId": "bench_ceiling.constant",
                "security": [{"oauth2": ["otp:write"]}],
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "format": "uuid"},
                    },
                ],
                "responses": {"200": {"description": "a constant verification"}},
            }
        }
    },
    "components": {
        "securitySchemes": {
            "oauth2": {
                "type": "oauth2",
                "flows": {
                    "clientCredentials": {
                        "tokenUrl": "/oauth/token",
                        "scopes": {"otp:write": "send codes"},
                    }
                },
                "x-tokenInfoFunc": "bench_ceiling.token_info",
            }
        }
    },
}


def token_info(token: str, request: Any) -> dict[str, Any]:
    return _TOKEN_INFO


async def constant(*, id_: str) -> Ok:
    return Ok(data=dict(_DATA))


def app() -> ServiceApp:
    settings = Settings()
    application = product.create_app(settings)
    spec_path = Path(tempfile.mkdtemp(prefix="bench-ceiling-")) / "ceiling.yaml"
    spec_path.write_text(yaml.safe_dump(SPEC), encoding="utf-8")
    application.add_api(
        spec_path,
        base_path="/bench",
        resolver=Resolver(function_resolver=product._resolve),
        strict_validation=True,
        validate_responses=settings.validate_responses,
        pythonic_params=True,
        validator_map=VALIDATOR_MAP,
        security_map=auth.security_map(settings),
    )
    return application
