"""`declaration-otp audit ID`: the story of one declaration request, from its audit trail."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import Session

from declaration_otp.audit import story
from declaration_otp.phone import mask_phone
from declaration_otp.tables import DeclarationRequest, OtpEvent

HEADER = ("TIME", "EVENT", "VERIFICATION", "ACTOR", "REQUEST_ID", "DETAIL")


@dataclass(frozen=True, slots=True)
class Story:
    declaration_request_id: uuid.UUID
    request: DeclarationRequest | None
    events: list[OtpEvent]


def load_story(session: Session, declaration_request_id: uuid.UUID) -> Story | None:
    """The request (if still there) and its events; None when neither is known."""
    request = session.get(DeclarationRequest, declaration_request_id)
    events = story(session, declaration_request_id=declaration_request_id)
    if request is None and not events:
        return None
    if request is not None:
        session.expunge(request)
    for event in events:
        session.expunge(event)
    return Story(declaration_request_id, request, events)


def _actor(event: OtpEvent) -> str:
    if event.actor_user_id is None:
        return "service"
    return f"{event.actor_user_id}@{event.actor_legal_entity_id}"


def _row(event: OtpEvent) -> tuple[str, ...]:
    return (
        event.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        event.event,
        str(event.verification_id)[:8] if event.verification_id else "-",
        _actor(event),
        event.request_id or "-",
        event.detail or "",
    )


def render(found: Story) -> list[str]:
    """A heading, then one aligned line per event, oldest first. Phones only masked."""
    request = found.request
    if request is None:
        heading = f"declaration request {found.declaration_request_id} (no longer stored)"
    else:
        heading = (
            f"declaration request {request.id}: {request.status}, "
            f"legal entity {request.legal_entity_id}, {request.auth_method_type}"
            + (f" {mask_phone(request.auth_phone_number)}" if request.auth_phone_number else "")
        )
    if not found.events:
        return [heading, "no OTP events recorded"]
    rows = [HEADER, *(_row(event) for event in found.events)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER) - 1)]
    lines = [heading]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return lines
