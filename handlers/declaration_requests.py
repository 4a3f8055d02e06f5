"""Declaration Request V3 operations. Business rules only: routing, auth, validation and the
envelope are done by connexion and the plumbing around these functions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, select

from declaration_otp import audit
from declaration_otp import declaration_store as store
from declaration_otp.audit import Actor, EventKind
from declaration_otp.auth import Caller
from declaration_otp.codes import (
    CodeDraft,
    IssuedCode,
    attempt_code,
    cancel_active_codes,
    draft_code,
    issue_code,
    latest_verification,
)
from declaration_otp.envelope import Ok
from declaration_otp.errors import (
    ApiError,
    conflict,
    invalid_entry,
    not_found,
    too_many_requests,
    validation_failed,
)
from declaration_otp.otp_rules import AttemptOutcome, LimitDecision
from declaration_otp.phone import mask_phone
from declaration_otp.presenters import (
    authentication_method_current,
    declaration_request_data,
    declaration_request_short,
    verification_data,
)
from declaration_otp.randomness import random_uuid, time_ordered_uuid
from declaration_otp.runtime import Services
from declaration_otp.sms.dispatch import sms_dispatch
from declaration_otp.tables import DeclarationRequest, Division, Employee, LegalEntity, Person
from generated.models import DeclarationRequestApprove, DeclarationRequestCreate

INVALID_TRANSITION = "Invalid transition"
NOT_FOUND = "Declaration request not found"


async def create_declaration_request(
    *, body: dict[str, Any], services: Services, caller: Caller, request_id: str
) -> Ok:
    # Already validated against the spec: this only gives it the generated model's types.
    payload = DeclarationRequestCreate.model_validate(body)
    with sms_dispatch(services) as dispatch:
        draft = draft_code(services, claim=dispatch.claim)

        def work(session: Session) -> tuple[DeclarationRequest, IssuedCode | None]:
            return _create(
                session,
                body=payload,
                services=services,
                caller=caller,
                request_id=request_id,
                draft=draft,
            )

        try:
            request, issued = await services.database.write(work)
        except ApiError as error:
            # The 429 rolled the request back: it has no id to file the refusal under.
            await audit.record_rate_limited(
                services,
                error,
                declaration_request_id=None,
                actor=Actor.of(caller),
                request_id=request_id,
                detail=f"create for person {payload.person_id} refused",
            )
            raise
        dispatch.committed(issued)
    return Ok(
        data=declaration_request_data(request),
        status=201,
        urgent={"authentication_method_current": authentication_method_current(request)},
    )


def _create(
    session: Session,
    *,
    body: DeclarationRequestCreate,
    services: Services,
    caller: Caller,
    request_id: str,
    draft: CodeDraft,
) -> tuple[DeclarationRequest, IssuedCode | None]:
    """The new request, and its code when it authorises by OTP."""
    # Locking the person serialises concurrent creates for them: exactly one stays pending.
    person = session.exec(
        select(Person).where(Person.id == body.person_id).with_for_update()
    ).first()
    if person is None:
        raise not_found("Such person doesn't exist")
    employee = session.get(Employee, body.employee_id)
    division = session.get(Division, body.division_id)
    legal_entity = session.get(LegalEntity, caller.legal_entity_id)
    invalid = []
    if employee is None:
        invalid.append(invalid_entry("$.employee_id", "Employee not found"))
    elif employee.legal_entity_id != caller.legal_entity_id:
        invalid.append(
            invalid_entry("$.employee_id", "Employee does not belong to your legal entity")
        )
    elif employee.employee_type != "DOCTOR":
        invalid.append(invalid_entry("$.employee_id", "Employee must be a DOCTOR"))
    elif employee.status != "APPROVED":
        invalid.append(invalid_entry("$.employee_id", "Employee is not active"))
    if division is None:
        invalid.append(invalid_entry("$.division_id", "Division not found"))
    elif division.legal_entity_id != caller.legal_entity_id:
        invalid.append(
            invalid_entry("$.division_id", "Division does not belong to your legal entity")
        )
    elif division.status != "ACTIVE":
        invalid.append(invalid_entry("$.division_id", "Division is not active"))

    methods = store.person_auth_methods(session, person_id=person.id)
    authorize_with = body.authorize_with
    method = None
    if authorize_with is not None:
        method = next((m for m in methods if m.id == authorize_with), None)
        if method is None:
            invalid.append(
                invalid_entry(
                    "$.authorize_with", "Authentication method doesn't belong to the person"
                )
            )
    elif methods:
        method = methods[0]
    else:
        invalid.append(invalid_entry("$.person_id", "Person must have authentication method"))
    if method is not None and method.type == "NA":
        invalid.append(invalid_entry("$.authorize_with", "Person must have authentication method"))
    if invalid or legal_entity is None or employee is None or division is None or method is None:
        raise validation_failed(invalid or [invalid_entry("$", "Legal entity not found")])

    now = services.clock()
    cancelled = store.cancel_pending_pairs(
        session,
        person_id=person.id,
        employee_id=employee.id,
        legal_entity_id=legal_entity.id,
        updated_by=caller.user_id,
        now=now,
    )
    for cancelled_id in cancelled:
        cancel_active_codes(
            session,
            services=services,
            declaration_request_id=cancelled_id,
            reason="declaration request superseded by a new one",
            actor=Actor.of(caller),
            request_id=request_id,
        )

    start = now.date()
    request = DeclarationRequest(
        id=time_ordered_uuid(),
        status="NEW",
        person_id=person.id,
        employee_id=employee.id,
        division_id=division.id,
        legal_entity_id=legal_entity.id,
        declaration_id=random_uuid(),
        declaration_number=store.new_declaration_number(),
        parent_declaration_id=body.parent_declaration_id,
        start_date=start,
        end_date=_years_later(start, services.settings.declaration_term_years),
        channel="MIS",
        authorize_with=method.id,
        auth_method_type=method.type,
        auth_phone_number=method.phone_number if method.type == "OTP" else None,
        data_to_be_signed={},
        inserted_by=caller.user_id,
        updated_by=caller.user_id,
        inserted_at=now,
        updated_at=now,
    )
    request.data_to_be_signed = _data_to_be_signed(
        request,
        person=person,
        employee=employee,
        division=division,
        legal_entity=legal_entity,
        methods=[{"type": m.type, "phone_number": mask_phone(m.phone_number)} for m in methods],
    )
    session.add(request)
    session.flush()
    if request.auth_method_type != "OTP" or not request.auth_phone_number:
        return request, None
    issued = issue_code(
        session,
        services=services,
        phone_number=request.auth_phone_number,
        declaration_request_id=request.id,
        request_id=request_id,
        draft=draft,
        actor=Actor.of(caller),
    )
    if isinstance(issued, LimitDecision):
        raise too_many_requests(issued.retry_after_seconds)
    return request, issued


def _data_to_be_signed(
    request: DeclarationRequest,
    *,
    person: Person,
    employee: Employee,
    division: Division,
    legal_entity: LegalEntity,
    methods: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "id": str(request.id),
        "declaration_number": request.declaration_number,
        "start_date": request.start_date.isoformat(),
        "end_date": request.end_date.isoformat(),
        "scope": "family_doctor",
        "channel": request.channel,
        "person": {
            "id": str(person.id),
            "first_name": person.first_name,
            "last_name": person.last_name,
            "second_name": person.second_name,
            "birth_date": person.birth_date.isoformat(),
            "authentication_methods": methods,
        },
        "employee": {
            "id": str(employee.id),
            "position": employee.position,
            "employee_type": employee.employee_type,
            "party": {
                "first_name": employee.first_name,
                "last_name": employee.last_name,
                "second_name": employee.second_name,
            },
        },
        "division": {"id": str(division.id), "name": division.name, "type": division.type},
        "legal_entity": {
            "id": str(legal_entity.id),
            "name": legal_entity.name,
            "short_name": legal_entity.short_name,
            "edrpou": legal_entity.edrpou,
        },
    }


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


def _years_later(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


async def list_declaration_requests(
    *,
    services: Services,
    caller: Caller,
    status: str | None = None,
    employee_id: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Ok:
    result = await services.database.read(
        lambda session: store.list_owned(
            session,
            legal_entity_id=caller.legal_entity_id,
            status=status,
            employee_id=_uuid_or_none(employee_id),
            page=page,
            page_size=page_size,
        )
    )
    return Ok(data=[declaration_request_short(row) for row in result.rows], paging=result.paging)


async def get_declaration_request(*, id_: str, services: Services, caller: Caller) -> Ok:
    request = await services.database.read(
        lambda session: store.get_owned(
            session, request_id=uuid.UUID(id_), legal_entity_id=caller.legal_entity_id, lock=False
        )
    )
    if request is None:
        raise not_found(NOT_FOUND)
    return Ok(data=declaration_request_data(request))


async def resend_otp(*, id_: str, services: Services, caller: Caller, request_id: str) -> Ok:
    with sms_dispatch(services) as dispatch:
        draft = draft_code(services, claim=dispatch.claim)

        def work(session: Session) -> IssuedCode:
            request = store.get_owned_for_send(
                session, request_id=uuid.UUID(id_), legal_entity_id=caller.legal_entity_id
            )
            if request is None:
                raise not_found(NOT_FOUND)
            if request.status != "NEW":
                raise validation_failed([invalid_entry("$.status", "incorrect status")])
            if request.auth_method_type != "OTP" or not request.auth_phone_number:
                raise validation_failed(
                    [invalid_entry("$.authentication_method_current", "Auth method is not OTP")]
                )
            issued = issue_code(
                session,
                services=services,
                phone_number=request.auth_phone_number,
                declaration_request_id=request.id,
                request_id=request_id,
                draft=draft,
                actor=Actor.of(caller),
                event=EventKind.RESENT,
            )
            if isinstance(issued, LimitDecision):
                raise too_many_requests(issued.retry_after_seconds)
            return issued

        try:
            # Prepared statements only (see Database.write): half the round trips on PostgreSQL.
            issued = await services.database.write(work, pipelined=True)
        except ApiError as error:
            # A 429 is raised after the request was found and owned: file it under the request.
            await audit.record_rate_limited(
                services,
                error,
                declaration_request_id=uuid.UUID(id_),
                actor=Actor.of(caller),
                request_id=request_id,
                detail="resend refused",
            )
            raise
        dispatch.committed(issued)
    return Ok(data=verification_data(issued))


@dataclass(frozen=True, slots=True)
class _Approval:
    request: DeclarationRequest | None
    failure: AttemptOutcome | None


async def approve_declaration_request(
    *,
    id_: str,
    services: Services,
    caller: Caller,
    request_id: str,
    body: dict[str, Any] | None = None,
) -> Ok:
    code = DeclarationRequestApprove.model_validate(body or {}).verification_code

    def work(session: Session) -> _Approval:
        request = store.get_owned(
            session, request_id=uuid.UUID(id_), legal_entity_id=caller.legal_entity_id, lock=True
        )
        if request is None:
            raise not_found(NOT_FOUND)
        if request.status != "NEW":
            raise conflict(INVALID_TRANSITION)
        if request.auth_method_type == "OTP":
            if code is None:
                raise validation_failed(
                    [
                        invalid_entry(
                            "$.verification_code",
                            "required property",
                            rule="required",
                        )
                    ]
                )
            verification = latest_verification(
                session, declaration_request_id=request.id, lock=True
            )
            if verification is None:
                return _Approval(request=None, failure=AttemptOutcome.EXHAUSTED)
            attempt = attempt_code(
                session,
                services=services,
                verification=verification,
                code=str(code),
                actor=Actor.of(caller),
                request_id=request_id,
            )
            if attempt.outcome is not AttemptOutcome.VERIFIED:
                # Returned, not raised: the counted attempt must be committed.
                return _Approval(request=None, failure=attempt.outcome)
        request.status = "APPROVED"
        request.updated_by = caller.user_id
        request.updated_at = services.clock()
        session.add(request)
        return _Approval(request=request, failure=None)

    approval = await services.database.write(work)
    if approval.failure is not None or approval.request is None:
        message = (approval.failure or AttemptOutcome.EXHAUSTED).value
        raise ApiError(422, "forbidden", message)
    return Ok(data=declaration_request_data(approval.request))


async def reject_declaration_request(
    *, id_: str, services: Services, caller: Caller, request_id: str
) -> Ok:
    def work(session: Session) -> DeclarationRequest:
        request = store.get_owned(
            session, request_id=uuid.UUID(id_), legal_entity_id=caller.legal_entity_id, lock=True
        )
        if request is None:
            raise not_found(NOT_FOUND)
        if request.status not in store.PENDING_STATUSES:
            raise conflict(INVALID_TRANSITION)
        request.status = "REJECTED"
        request.updated_by = caller.user_id
        request.updated_at = services.clock()
        session.add(request)
        cancel_active_codes(
            session,
            services=services,
            declaration_request_id=request.id,
            reason="declaration request rejected",
            actor=Actor.of(caller),
            request_id=request_id,
        )
        return request

    request = await services.database.write(work)
    return Ok(data=declaration_request_data(request))
