"""Errors a client may see, with eHealth's types and texts. Rendered by `error_handlers`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, TypedDict

VALIDATION_MESSAGE = (
    "Validation failed. You can find validators description at our API Manifest: "
    "http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/errors."
)
MALFORMED_MESSAGE = "Malformed request. Probably, you have sent corrupted JSON."
CONFLICT_MESSAGE = (
    "The request could not be completed due to a conflict with the current state of the resource."
)

EntryType = Literal["json_data_property", "query_parameter", "path_parameter", "header"]


class Rule(TypedDict):
    rule: str
    description: str
    params: list[Any]


class InvalidEntry(TypedDict):
    entry_type: EntryType
    entry: str
    rules: list[Rule]


def invalid_entry(
    entry: str,
    description: str,
    *,
    rule: str = "invalid",
    entry_type: EntryType = "json_data_property",
    params: Sequence[Any] = (),
) -> InvalidEntry:
    return {
        "entry_type": entry_type,
        "entry": entry,
        "rules": [{"rule": rule, "description": description, "params": list(params)}],
    }


class ApiError(Exception):
    """An error response: HTTP status, eHealth `error.type`, message and optional details."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        invalid: list[InvalidEntry] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.invalid = invalid
        self.headers = headers or {}


def validation_failed(invalid: list[InvalidEntry]) -> ApiError:
    return ApiError(422, "validation_failed", VALIDATION_MESSAGE, invalid=invalid)


def not_found(message: str = "Resource not found") -> ApiError:
    return ApiError(404, "not_found", message)


def conflict(message: str = CONFLICT_MESSAGE) -> ApiError:
    return ApiError(409, "request_conflict", message)


def too_many_requests(retry_after_seconds: int) -> ApiError:
    return ApiError(
        429,
        "too_many_requests",
        "too many requests",
        headers={"Retry-After": str(retry_after_seconds)},
    )


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "access_denied", message)


def malformed(message: str = MALFORMED_MESSAGE) -> ApiError:
    return ApiError(400, "request_malformed", message)


def unavailable(message: str = "Service temporarily unavailable, retry later") -> ApiError:
    return ApiError(503, "internal_error", message, headers={"Retry-After": "1"})
