"""Identity set by an upstream API gateway (AUTH_MODE=gateway), as eHealth's integration layer.

The gateway (Kong with the Mithril plugin in the national deployment) has already checked the
bearer token and passes who is calling in headers:

- `x-consumer-metadata`: JSON of the token's details; `client_id` is the legal entity id;
- `x-consumer-id`: the user id;
- `x-consumer-scope`: the token's scopes, space-separated.

Anyone who can reach the service directly can set these headers, so this mode must only ever
sit behind the gateway; AUTH_GATEWAY_SECRET additionally requires a shared secret header.

connexion's OAuth handler only looks at `Authorization: Bearer` (without one it answers 401
before any token function runs), so this mode replaces the handler of the spec's `oauth2`
scheme (`security_map`) while keeping connexion's scope check against the spec.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from typing import Any

from connexion.lifecycle import ConnexionRequest

from declaration_otp.auth.caller import TokenInfo, token_info_of
from declaration_otp.auth.scheme_handler import SchemeHandler
from declaration_otp.errors import unauthorized
from declaration_otp.runtime import services_of
from declaration_otp.settings import Settings

METADATA_HEADER = "x-consumer-metadata"
CONSUMER_ID_HEADER = "x-consumer-id"
SCOPE_HEADER = "x-consumer-scope"

MISSING_METADATA = f"Missing header {METADATA_HEADER}"
# Upstream's text, typo included ("Misssing"): clients of the real service may match on it.
MISSING_CLIENT_ID = "Misssing Client ID"
MISSING_CONSUMER_ID = f"Missing header {CONSUMER_ID_HEADER}"
INVALID_CONSUMER_ID = f"Invalid header {CONSUMER_ID_HEADER}"
INVALID_GATEWAY_SECRET = "Invalid gateway secret"  # noqa: S105 - a message, not a secret
_MAX_USER_ID = 64


def _digest(value: str) -> bytes:
    # Equal-length digests: compare_digest then leaks neither content nor length.
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


def _check_gateway_secret(settings: Settings, request: ConnexionRequest) -> None:
    if settings.auth_gateway_secret is None:
        return
    given = request.headers.get(settings.auth_gateway_secret_header, "")
    expected = settings.auth_gateway_secret.get_secret_value()
    if not hmac.compare_digest(_digest(given), _digest(expected)):
        raise unauthorized(INVALID_GATEWAY_SECRET)


def _legal_entity_id(metadata: str) -> uuid.UUID:
    try:
        details = json.loads(metadata)
    except ValueError:
        raise unauthorized(MISSING_CLIENT_ID) from None
    client_id = details.get("client_id") if isinstance(details, dict) else None
    if not isinstance(client_id, str):
        raise unauthorized(MISSING_CLIENT_ID)
    try:
        return uuid.UUID(client_id)
    except ValueError:
        # Not a legal entity id: as good as no client id.
        raise unauthorized(MISSING_CLIENT_ID) from None


def gateway_token_info(_token: object, request: ConnexionRequest) -> TokenInfo:
    """The caller named by the gateway's headers; a 401 `ApiError` when they are not usable."""
    settings = services_of(request.scope).settings
    _check_gateway_secret(settings, request)
    metadata = request.headers.get(METADATA_HEADER)
    if metadata is None:
        raise unauthorized(MISSING_METADATA)
    legal_entity_id = _legal_entity_id(metadata)
    user_id = request.headers.get(CONSUMER_ID_HEADER, "").strip()
    if not user_id:
        raise unauthorized(MISSING_CONSUMER_ID)
    if len(user_id) > _MAX_USER_ID:
        raise unauthorized(INVALID_CONSUMER_ID)
    scopes = request.headers.get(SCOPE_HEADER, "").split()
    return token_info_of(client_id=legal_entity_id, user_id=user_id, scopes=scopes)


class GatewaySecurityHandler(SchemeHandler):
    """The spec's `oauth2` scheme, satisfied by gateway headers instead of a bearer token."""

    def get_tokeninfo_func(self, security_definition: dict[str, Any]) -> Callable[..., Any]:
        return gateway_token_info

    def _get_verify_func(
        self,
        token_info_func: Callable[..., Any],
        scope_validate_func: Callable[..., Any],
        required_scopes: list[str],
    ) -> Callable[[ConnexionRequest], Any]:
        check = self.check_oauth_func(token_info_func, scope_validate_func)

        def verify(request: ConnexionRequest) -> Any:
            # Never NO_VALUE: without the headers the token function itself answers 401.
            return check(request, None, required_scopes=required_scopes)

        return verify
