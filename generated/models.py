# generated from openapi/openapi.yaml by scripts/regenerate; do not edit

from __future__ import annotations

from datetime import date
from typing import Any, Dict, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class AccessTokenRequest(BaseModel):
    """
    Form of the OAuth2 client credentials grant (RFC 6749, section 4.4.2).
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    grant_type: Literal["client_credentials"]
    scope: str | None = Field(
        None,
        description="Space-separated scopes the new token should carry; every scope of the client secret when absent.",
        max_length=1000,
    )
    client_id: str | None = Field(
        None,
        description="The legal entity id (when not sent as HTTP Basic credentials).",
        max_length=100,
    )
    client_secret: str | None = Field(
        None,
        description="A token issued for that legal entity (when not sent as HTTP Basic credentials).",
        max_length=200,
    )


class AccessToken(BaseModel):
    """
    OAuth2 access token response (RFC 6749, section 5.1).
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    access_token: str = Field(
        ...,
        description="The bearer token to send as `Authorization: Bearer <access_token>`.",
    )
    token_type: Literal["bearer"]
    expires_in: int = Field(
        ..., description="Seconds until the token expires.", examples=[3600], ge=1
    )
    scope: str = Field(
        ...,
        description="Space-separated scopes of the token.",
        examples=["declaration_request:read otp:write"],
    )


class Meta(BaseModel):
    """
    Response metadata.
    """

    code: int = Field(
        ..., description="HTTP status code of the response.", examples=[200]
    )
    url: str = Field(
        ...,
        description="URL of the request (for 201, with the created id appended).",
        examples=["https://declaration-otp.example.com/api/v3/declaration_requests"],
    )
    type: Literal["object", "list"] = Field(
        ..., description="`object` for a single item or an error, `list` for a list."
    )
    request_id: str = Field(
        ...,
        description="Request id; equals the `X-Request-ID` response header.",
        examples=["6617aeec-15e2-4d6f-b9bd-53559c358f97#17810"],
    )


class Paging(BaseModel):
    """
    Page-based pagination.
    """

    page_number: int = Field(..., examples=[1])
    page_size: int = Field(..., examples=[50])
    total_entries: int = Field(..., examples=[1])
    total_pages: int = Field(..., examples=[1])


class ValidationRule(BaseModel):
    """
    One violated rule.
    """

    rule: str = Field(
        ...,
        description="Rule name (`required`, `format`, `maximum`, `invalid`, ...).",
        examples=["invalid"],
    )
    description: str = Field(..., examples=["incorrect status"])
    params: list[Any] = Field(
        ..., description="Rule parameters (e.g. the maximum); often empty."
    )


class InvalidEntry(BaseModel):
    """
    One invalid part of the request.
    """

    entry_type: Literal["json_data_property", "query_parameter", "path_parameter", "header"]
    entry: str = Field(
        ...,
        description="JSONPath of a body property (`$.person_id`) or the parameter name.",
        examples=["$.status"],
    )
    rules: list[ValidationRule]


class Error(BaseModel):
    """
    Error details.
    """

    type: str = Field(
        ...,
        description="Error type, e.g. `validation_failed`, `not_found`, `too_many_requests`.",
        examples=["validation_failed"],
    )
    message: str = Field(..., description="Human-readable message.")
    invalid: list[InvalidEntry] | None = Field(
        None, description="Every violation, for `validation_failed` errors."
    )


class ErrorResponse(BaseModel):
    """
    Error envelope.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    meta: Meta
    error: Error


class Verification(BaseModel):
    """
    An OTP verification (one SMS code).
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    id: UUID = Field(
        ...,
        description="Verification id.",
        examples=["7d23bebb-1cf3-4221-bf21-18aada444756"],
    )
    status: Literal["NEW", "CANCELED", "VERIFIED", "UNVERIFIED", "EXPIRED"] = (
        Field(..., examples=["NEW"])
    )
    code_expired_at: AwareDatetime = Field(
        ...,
        description="When the code expires; ISO-8601 UTC with microseconds and `Z`.",
        examples=["2017-07-10T12:20:16.300597Z"],
    )
    active: bool = Field(
        ...,
        description="Whether this is the code that can still approve the request.",
        examples=[True],
    )


class VerificationResponse(BaseModel):
    meta: Meta
    data: Verification


class AuthenticationMethodCurrent(BaseModel):
    """
    How the patient confirms the request. `number` is masked in every response.
    """

    type: Literal["OTP", "OFFLINE", "NA"] = Field(..., examples=["OTP"])
    number: str | None = Field(
        None,
        description="Masked phone number (first 6 characters, `*****`, last 2); null unless `OTP`.",
        examples=["+38093*****85"],
    )


class AuthenticationMethod(BaseModel):
    type: str | None = Field(None, examples=["OTP"])
    phone_number: str | None = Field(
        None, description="Masked phone number.", examples=["+38093*****85"]
    )


class Person(BaseModel):
    id: UUID | None = None
    first_name: str | None = None
    last_name: str | None = None
    second_name: str | None = None
    birth_date: date | None = None
    authentication_methods: list[AuthenticationMethod] | None = None


class Party(BaseModel):
    first_name: str | None = None
    last_name: str | None = None
    second_name: str | None = None


class Employee(BaseModel):
    id: UUID | None = None
    position: str | None = Field(None, examples=["P2"])
    employee_type: str | None = Field(None, examples=["DOCTOR"])
    party: Party | None = None


class Division(BaseModel):
    id: UUID | None = None
    name: str | None = None
    type: str | None = Field(None, examples=["CLINIC"])


class LegalEntity(BaseModel):
    id: UUID | None = None
    name: str | None = None
    short_name: str | None = None
    edrpou: str | None = Field(None, examples=["38782323"])


class DataToBeSigned(BaseModel):
    """
    The declaration content the patient and the doctor sign.
    """

    model_config = ConfigDict(
        extra="allow",
    )
    id: UUID | None = None
    declaration_number: str | None = Field(None, examples=["0000-12H4-245D"])
    start_date: date | None = None
    end_date: date | None = None
    scope: str | None = Field(None, examples=["family_doctor"])
    channel: str | None = Field(None, examples=["MIS"])
    person: Person | None = None
    employee: Employee | None = None
    division: Division | None = None
    legal_entity: LegalEntity | None = None


class DeclarationRequest(BaseModel):
    """
    A declaration request V3 (full form).
    """

    id: UUID
    status: Literal["NEW", "APPROVED", "SIGNED", "REJECTED", "CANCELLED", "EXPIRED"]
    person_id: UUID
    employee_id: UUID
    division_id: UUID
    legal_entity_id: UUID
    declaration_id: UUID = Field(
        ..., description="Id the declaration will get once signed."
    )
    parent_declaration_id: UUID | None = Field(
        ...,
        description="Declaration of a reorganized legal entity this request continues.",
    )
    declaration_number: str = Field(..., examples=["0000-12H4-245D"])
    start_date: date
    end_date: date
    channel: Literal["MIS"]
    authorize_with: UUID | None = Field(
        ..., description="The person's authentication method chosen at creation."
    )
    authentication_method_current: AuthenticationMethodCurrent
    data_to_be_signed: DataToBeSigned
    inserted_at: AwareDatetime
    updated_at: AwareDatetime
    inserted_by: str = Field(..., description="User who created the request.")
    updated_by: str = Field(..., description="User who last changed the request.")


class DeclarationRequestShort(BaseModel):
    """
    A declaration request as listed.
    """

    id: UUID
    status: Literal["NEW", "APPROVED", "SIGNED", "REJECTED", "CANCELLED", "EXPIRED"]
    person_id: UUID
    employee_id: UUID
    division_id: UUID
    legal_entity_id: UUID
    declaration_id: UUID
    declaration_number: str = Field(..., examples=["0000-12H4-245D"])
    start_date: date
    end_date: date
    channel: Literal["MIS"]
    inserted_at: AwareDatetime
    updated_at: AwareDatetime


class DeclarationRequestCreate(BaseModel):
    """
    Body of Create Declaration Request V3.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    person_id: UUID = Field(..., description="An existing active person.")
    employee_id: UUID = Field(
        ..., description="An approved employee (doctor) of the caller's legal entity."
    )
    division_id: UUID = Field(
        ..., description="An active division of the caller's legal entity."
    )
    authorize_with: UUID | None = Field(
        None,
        description="Id of one of the person's authentication methods; the first one when absent.",
    )
    parent_declaration_id: UUID | None = Field(
        None,
        description="Declaration of a reorganized legal entity this request continues.",
    )


class DeclarationRequestApprove(BaseModel):
    """
    Body of Approve Declaration Request V3. `verification_code` is required when the request's
    authentication method is `OTP` (a business rule checked by the handler); for `OFFLINE`/`NA`
    the body may be empty or absent; an absent body is the same as `{}`.

    """

    model_config = ConfigDict(
        extra="forbid",
    )
    verification_code: int | None = Field(
        None,
        description="The code from the latest SMS.",
        examples=[2836],
        ge=0,
        le=99999999,
    )


class DeclarationRequestResponse(BaseModel):
    meta: Meta
    data: DeclarationRequest


class DeclarationRequestListResponse(BaseModel):
    meta: Meta
    data: list[DeclarationRequestShort]
    paging: Paging


class Urgent(BaseModel):
    authentication_method_current: AuthenticationMethodCurrent


class DeclarationRequestCreatedResponse(BaseModel):
    meta: Meta
    data: DeclarationRequest
    urgent: Urgent


class VerificationInitialize(BaseModel):
    """
    Body of Initialize OTP Verification.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    phone_number: str = Field(
        ...,
        description="The phone to send the code to; its prefix must be allowed for SMS.",
        examples=["+380936235985"],
        pattern="^\\+[0-9]{9,16}$",
    )


class VerificationComplete(BaseModel):
    """
    Body of Complete OTP Verification.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    code: int = Field(
        ..., description="The code from the SMS.", examples=[2836], ge=0, le=99999999
    )


class VerifiedPhone(BaseModel):
    """
    A phone that completed a verification.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    phone_number: str = Field(
        ...,
        description="The phone, masked (first 6 characters, `*****`, last 2).",
        examples=["+38093*****85"],
    )
    verified_at: AwareDatetime = Field(..., description="When it was first verified.")


class VerifiedPhoneResponse(BaseModel):
    meta: Meta
    data: VerifiedPhone


class SmsStatusCallback(BaseModel):
    """
    A Twilio-style status report (form fields). Providers add fields of their own; they are
    accepted, covered by the signature and otherwise ignored.

    """

    model_config = ConfigDict(
        extra="allow",
    )
    __annotations__ = {
        "__pydantic_extra__": Dict[str, str],
    }
    MessageSid: str = Field(
        ..., description="The provider's message id.", max_length=100
    )
    MessageStatus: str = Field(
        ...,
        description="queued, sending, sent, delivered, undelivered, failed, ...",
        max_length=40,
    )
    ErrorCode: str | None = Field(
        None,
        description="The provider's error code, for undelivered and failed messages.",
        max_length=20,
    )
    ErrorMessage: str | None = Field(None, max_length=300)
    AccountSid: str | None = Field(None, max_length=100)


class SmsStatusResult(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    id: UUID = Field(..., description="Our message id.")
    status: Literal["queued", "sending", "sent", "delivered", "undelivered", "failed", "expired", "canceled"] = (
        Field(..., description="The message's delivery status after this report.")
    )
    changed: bool = Field(
        ...,
        description="false when the report was old news (repeated, late or intermediate).",
    )


class SmsStatusResponse(BaseModel):
    meta: Meta
    data: SmsStatusResult
