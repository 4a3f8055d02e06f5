"""POST /oauth/token: the OAuth2 client credentials grant over local tokens.

`client_id` is the legal entity, `client_secret` a token the operator issued for it; the answer
is a new, shorter-lived token of the same legal entity and user with the requested scopes. This is
what lets Swagger UI's "Authorize" dialog (and any OAuth2 client library) get a bearer token.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import unquote

from connexion.context import request
from sqlmodel import Session, select

from declaration_otp.auth import find_token_info, issue_token
from declaration_otp.envelope import Ok
from declaration_otp.errors import invalid_entry, unauthorized, validation_failed
from declaration_otp.runtime import Services
from declaration_otp.tables import ApiToken
from generated.models import AccessToken, AccessTokenRequest

ACCESS_TOKEN_TTL_SECONDS: Final = 3600
INVALID_CLIENT: Final = "Invalid client credentials"


async def issue_access_token(*, body: dict[str, Any], services: Services) -> Ok:
    form = AccessTokenRequest.model_validate(_single_values(body))
    client_id, client_secret = _client_credentials(form, request.headers.get("authorization"))
    if services.settings.auth_mode != "local" or client_id is None or not client_secret:
        raise unauthorized(INVALID_CLIENT)
    secret_hash = services.secrets.token_hash(client_secret)
    requested = (form.scope or "").split()
    now = services.clock()

    def work(session: Session) -> AccessToken:
        info = find_token_info(session, token_hash=secret_hash, now=now)
        if info is None or info["client_id"] != str(client_id):
            raise unauthorized(INVALID_CLIENT)
        not_granted = sorted(set(requested) - set(info["scope"]))
        if not_granted:
            raise validation_failed(
                [
                    invalid_entry(
                        "$.scope", f"scope not granted to this client: {' '.join(not_granted)}"
                    )
                ]
            )
        scopes = sorted(set(requested or info["scope"]))
        ttl = _ttl_seconds(session, secret_hash, now)
        token = issue_token(
            session,
            services=services,
            client_id=client_id,
            user_id=info["user_id"],
            scopes=scopes,
            ttl_seconds=ttl,
        )
        return AccessToken(
            access_token=token,
            token_type="bearer",  # noqa: S106 - the OAuth2 token type, not a secret
            expires_in=ttl,
            scope=" ".join(scopes),
        )

    access_token = await services.database.write(work)
    return Ok(
        data=access_token.model_dump(),
        bare=True,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def _single_values(form: dict[str, Any]) -> dict[str, Any]:
    # A form field may repeat; the form validator already rejected anything but strings.
    return {k: v[-1] if isinstance(v, list) and v else v for k, v in (form or {}).items()}


def _client_credentials(
    form: AccessTokenRequest, authorization: str | None
) -> tuple[uuid.UUID | None, str | None]:
    """(client_id, client_secret) from HTTP Basic credentials, else from the form."""
    client_id, client_secret = form.client_id, form.client_secret
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        user, separator, password = decoded.partition(":")
        if not separator:
            return None, None
        # RFC 6749 2.3.1: both parts are form-urlencoded before the Basic encoding.
        client_id, client_secret = unquote(user), unquote(password)
    try:
        return uuid.UUID(client_id or ""), client_secret
    except ValueError:
        return None, None


def _ttl_seconds(session: Session, secret_hash: str, now: datetime) -> int:
    """One hour, or less when the client secret expires sooner: never outlive the secret."""
    expires_at = session.exec(
        select(ApiToken.expires_at).where(ApiToken.token_hash == secret_hash)
    ).first()
    if expires_at is None:
        return ACCESS_TOKEN_TTL_SECONDS
    remaining = (expires_at - now) / timedelta(seconds=1)
    return max(1, min(ACCESS_TOKEN_TTL_SECONDS, int(remaining)))
