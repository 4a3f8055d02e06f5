"""Rows to API payloads. Phones are masked here, on the only way out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from declaration_otp.phone import mask_phone
from declaration_otp.tables import DeclarationRequest


def iso_utc(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds and `Z`, as eHealth writes `code_expired_at`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class VerificationLike(Protocol):
    """A `Verification` row, or a code just issued (`codes.IssuedCode`)."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def status(self) -> str: ...

    @property
    def code_expired_at(self) -> datetime: ...

    @property
    def active(self) -> bool: ...


def verification_data(verification: VerificationLike) -> dict[str, Any]:
    return {
        "id": str(verification.id),
        "status": verification.status,
        "code_expired_at": iso_utc(verification.code_expired_at),
        "active": verification.active,
    }


def authentication_method_current(request: DeclarationRequest) -> dict[str, Any]:
    return {"type": request.auth_method_type, "number": mask_phone(request.auth_phone_number)}


def declaration_request_short(request: DeclarationRequest) -> dict[str, Any]:
    return {
        "id": str(request.id),
        "status": request.status,
        "person_id": str(request.person_id),
        "employee_id": str(request.employee_id),
        "division_id": str(request.division_id),
        "legal_entity_id": str(request.legal_entity_id),
        "declaration_id": str(request.declaration_id),
        "declaration_number": request.declaration_number,
        "start_date": request.start_date.isoformat(),
        "end_date": request.end_date.isoformat(),
        "channel": request.channel,
        "inserted_at": iso_utc(request.inserted_at),
        "updated_at": iso_utc(request.updated_at),
    }


def declaration_request_data(request: DeclarationRequest) -> dict[str, Any]:
    return {
        **declaration_request_short(request),
        "parent_declaration_id": (
            str(request.parent_declaration_id) if request.parent_declaration_id else None
        ),
        "authorize_with": str(request.authorize_with) if request.authorize_with else None,
        "authentication_method_current": authentication_method_current(request),
        "data_to_be_signed": request.data_to_be_signed,
        "inserted_by": request.inserted_by,
        "updated_by": request.updated_by,
    }
