"""The eHealth JSON envelope: `meta` plus `data` (success) or `error` (failure)."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal

from declaration_otp.randomness import random_uuid

Scope = MutableMapping[str, Any]

REQUEST_ID_STATE_KEY = "request_id"
MAX_REQUEST_ID_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Ok:
    """What a handler returns: the `data` of a success response and its extras."""

    data: Any
    status: int = 200
    paging: dict[str, int] | None = None
    urgent: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # The body is `data` itself, without the envelope: only for the OAuth2 token response, whose
    # shape OAuth2 clients expect (the spec marks such a response `x-envelope: false`).
    bare: bool = False


def clean_request_id(candidate: str | None) -> str:
    """Echo a sane client id (the gateway's `<uuid>#<n>` included); otherwise make one."""
    if (
        candidate
        and len(candidate) <= MAX_REQUEST_ID_LENGTH
        and candidate.isascii()
        and candidate.isprintable()
    ):
        return candidate
    return str(random_uuid())


def request_id_of(scope: Scope) -> str:
    state = scope.get("state") or {}
    request_id = state.get(REQUEST_ID_STATE_KEY)
    return request_id if isinstance(request_id, str) else str(random_uuid())


def request_url(scope: Scope) -> str:
    """scheme://host[:port]/path of the request, without its query string."""
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
    scheme = scope.get("scheme", "http")
    host = headers.get("host")
    if not host:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] in (None, 80, 443) else f"{server[0]}:{server[1]}"
    return f"{scheme}://{host}{scope.get('root_path', '')}{scope.get('path', '/')}"


def meta(
    scope: Scope, code: int, kind: Literal["object", "list"] = "object", *, created_id: str = ""
) -> dict[str, Any]:
    url = request_url(scope)
    return {
        "code": code,
        # eHealth points a 201's url at the new resource.
        "url": f"{url}/{created_id}" if created_id else url,
        "type": kind,
        "request_id": request_id_of(scope),
    }


def success_body(scope: Scope, result: Ok) -> Any:
    if result.bare:
        return result.data
    kind: Literal["object", "list"] = "list" if isinstance(result.data, list) else "object"
    created_id = ""
    if result.status == 201 and isinstance(result.data, dict):
        created_id = str(result.data.get("id") or "")
    body: dict[str, Any] = {
        "meta": meta(scope, result.status, kind, created_id=created_id),
        "data": result.data,
    }
    if result.paging is not None:
        body["paging"] = result.paging
    if result.urgent is not None:
        body["urgent"] = result.urgent
    return body


def error_body(
    scope: Scope,
    status: int,
    error_type: str,
    message: str,
    invalid: list[Any] | None = None,
) -> dict[str, Any]:
    error: dict[str, Any] = {"type": error_type, "message": message}
    if invalid is not None:
        error["invalid"] = invalid
    return {"meta": meta(scope, status), "error": error}


def dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
