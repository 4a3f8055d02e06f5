"""The OTP verification API (the upstream OTP service's operations) on the declaration engine.

Business rules only; codes, limits and attempts are the shared rules of `declaration_otp.codes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from declaration_otp import audit
from declaration_otp.audit import Actor
from declaration_otp.auth import Caller
from declaration_otp.codes import (
    IssuedCode,
    attempt_code,
    draft_code,
    issue_code,
    latest_phone_verification,
)
from declaration_otp.envelope import Ok
from declaration_otp.errors import (
    ApiError,
    EntryType,
    invalid_entry,
    not_found,
    too_many_requests,
    validation_failed,
)
from declaration_otp.otp_rules import AttemptOutcome, LimitDecision
from declaration_otp.phone import mask_phone
from declaration_otp.presenters import iso_utc, verification_data
from declaration_otp.runtime import Services
from declaration_otp.settings import Settings
from declaration_otp.sms.dispatch import sms_dispatch
from declaration_otp.sms.relay import destination_allowed
from declaration_otp.tables import VerifiedPhone
from generated.models import VerificationComplete, VerificationInitialize

PREFIX_NOT_ALLOWED = "phone number prefix is not allowed for SMS"


def _require_allowed_prefix(phone_number: str, settings: Settings, entry_type: EntryType) -> None:
    prefixes = settings.allowed_sms_prefixes
    if not destination_allowed(phone_number, prefixes):
        raise validation_failed(
            [
                invalid_entry(
                    "$.phone_number", PREFIX_NOT_ALLOWED, entry_type=entry_type, params=prefixes
                )
            ]
        )


async def initialize_verification(
    *, body: dict[str, Any], services: Services, caller: Caller, request_id: str
) -> Ok:
    phone_number = VerificationInitialize.model_validate(body).phone_number
    _require_allowed_prefix(phone_number, services.settings, "json_data_property")
    with sms_dispatch(services) as dispatch:
        draft = draft_code(services, claim=dispatch.claim)

        def work(session: Session) -> IssuedCode:
            issued = issue_code(
                session,
                services=services,
                phone_number=phone_number,
                declaration_request_id=None,
                request_id=request_id,
                draft=draft,
                actor=Actor.of(caller),
            )
            if isinstance(issued, LimitDecision):
                raise too_many_requests(issued.retry_after_seconds)
            return issued

        try:
            issued = await services.database.write(work)
        except ApiError as error:
            await audit.record_rate_limited(
                services,
                error,
                declaration_request_id=None,
                actor=Actor.of(caller),
                request_id=request_id,
                detail=f"SMS to {mask_phone(phone_number)} refused",
            )
            raise
        dispatch.committed(issued)
    return Ok(data=verification_data(issued), status=201)


@dataclass(frozen=True, slots=True)
class _Completion:
    outcome: AttemptOutcome
    data: dict[str, Any]


async def complete_verification(
    *, phone_number: str, body: dict[str, Any], services: Services, caller: Caller, request_id: str
) -> Ok:
    _require_allowed_prefix(phone_number, services.settings, "path_parameter")
    code = str(VerificationComplete.model_validate(body).code)

    def work(session: Session) -> _Completion:
        verification = latest_phone_verification(session, phone_number=phone_number, lock=True)
        if verification is None:
            raise not_found("Verification not found")
        attempt = attempt_code(
            session,
            services=services,
            verification=verification,
            code=code,
            actor=Actor.of(caller),
            request_id=request_id,
        )
        data = {
            **verification_data(verification),
            "status": attempt.status.value,
            "active": attempt.active,
        }
        # Returned, not raised: a counted attempt must be committed.
        return _Completion(attempt.outcome, data)

    completion = await services.database.write(work)
    if completion.outcome is not AttemptOutcome.VERIFIED:
        raise ApiError(403, "forbidden", completion.outcome.value)
    return Ok(data=completion.data)


async def get_verified_phone(*, phone_number: str, services: Services) -> Ok:
    _require_allowed_prefix(phone_number, services.settings, "path_parameter")
    verified = await services.database.read(
        lambda session: session.get(VerifiedPhone, phone_number)
    )
    if verified is None:
        raise not_found("Phone not found")
    return Ok(
        data={
            "phone_number": mask_phone(verified.phone_number),
            "verified_at": iso_utc(verified.verified_at),
        }
    )
