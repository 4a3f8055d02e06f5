"""Declaration request and registry queries, all keyword-only and inside a caller's transaction."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from declaration_otp.prepared import Prepared
from declaration_otp.randomness import random_below
from declaration_otp.tables import AuthenticationMethod, DeclarationRequest

PENDING_STATUSES = ("NEW", "APPROVED")
_DECLARATION_REQUESTS: Table = DeclarationRequest.__table__  # type: ignore[attr-defined]
_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPRSTXZ"


def new_declaration_number() -> str:
    """`XXXX-XXXX-XXXX`, the shape of eHealth declaration numbers."""
    chars = "".join(_NUMBER_ALPHABET[random_below(len(_NUMBER_ALPHABET))] for _ in range(12))
    return f"{chars[0:4]}-{chars[4:8]}-{chars[8:12]}"


def get_owned(
    session: Session, *, request_id: uuid.UUID, legal_entity_id: uuid.UUID, lock: bool
) -> DeclarationRequest | None:
    """The request if it exists and belongs to `legal_entity_id`: others' look like missing ones."""
    query = select(DeclarationRequest).where(DeclarationRequest.id == request_id)
    if lock:
        query = query.with_for_update()
    row = session.exec(query).first()
    if row is None or row.legal_entity_id != legal_entity_id:
        return None
    return row


_OWNED_FOR_SEND = Prepared(  # the hot path: see prepared.py
    sa_select(
        _DECLARATION_REQUESTS.c.id,
        _DECLARATION_REQUESTS.c.legal_entity_id,
        _DECLARATION_REQUESTS.c.status,
        _DECLARATION_REQUESTS.c.auth_method_type,
        _DECLARATION_REQUESTS.c.auth_phone_number,
    )
    .where(_DECLARATION_REQUESTS.c.id == bindparam("request_id"))
    .with_for_update()
)


def get_owned_for_send(
    session: Session, *, request_id: uuid.UUID, legal_entity_id: uuid.UUID
) -> Any | None:
    """`get_owned(lock=True)` as a plain row of what a resend needs (id, status, auth method and
    phone): Core, no ORM object to build and track on the hot path."""
    row = _OWNED_FOR_SEND.first(session, {"request_id": request_id})
    if row is None or row.legal_entity_id != legal_entity_id:
        return None
    return row


def person_auth_methods(session: Session, *, person_id: uuid.UUID) -> list[AuthenticationMethod]:
    return list(
        session.exec(
            select(AuthenticationMethod)
            .where(AuthenticationMethod.person_id == person_id)
            .order_by(col(AuthenticationMethod.position))
        ).all()
    )


def cancel_pending_pairs(
    session: Session,
    *,
    person_id: uuid.UUID,
    employee_id: uuid.UUID,
    legal_entity_id: uuid.UUID,
    updated_by: str,
    now: datetime,
) -> list[uuid.UUID]:
    """Earlier NEW/APPROVED requests of the same person, doctor and legal entity are cancelled."""
    return list(
        session.execute(
            update(DeclarationRequest)
            .where(
                col(DeclarationRequest.person_id) == person_id,
                col(DeclarationRequest.employee_id) == employee_id,
                col(DeclarationRequest.legal_entity_id) == legal_entity_id,
                col(DeclarationRequest.status).in_(PENDING_STATUSES),
            )
            .values(
                status="CANCELLED",
                status_reason="new_declaration_request_created",
                updated_by=updated_by,
                updated_at=now,
            )
            .returning(col(DeclarationRequest.id))
        )
        .scalars()
        .all()
    )


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[DeclarationRequest]
    page_number: int
    page_size: int
    total_entries: int

    @property
    def paging(self) -> dict[str, int]:
        return {
            "page_number": self.page_number,
            "page_size": self.page_size,
            "total_entries": self.total_entries,
            "total_pages": max(1, math.ceil(self.total_entries / self.page_size)),
        }


def list_owned(
    session: Session,
    *,
    legal_entity_id: uuid.UUID,
    status: str | None,
    employee_id: uuid.UUID | None,
    page: int,
    page_size: int,
) -> Page:
    conditions = [col(DeclarationRequest.legal_entity_id) == legal_entity_id]
    if status is not None:
        conditions.append(col(DeclarationRequest.status) == status)
    if employee_id is not None:
        conditions.append(col(DeclarationRequest.employee_id) == employee_id)
    total = session.exec(
        select(func.count()).select_from(DeclarationRequest).where(*conditions)
    ).one()
    rows = session.exec(
        select(DeclarationRequest)
        .where(*conditions)
        .order_by(col(DeclarationRequest.inserted_at).desc(), col(DeclarationRequest.id))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return Page(rows=list(rows), page_number=page, page_size=page_size, total_entries=int(total))
