"""OAuth 2.0 Token Introspection, RFC 7662 (AUTH_MODE=introspection).

The bearer token is posted to AUTH_INTROSPECTION_URL with the service's client credentials
(HTTP Basic) through the shared outbound client. An active answer maps to the same token info
as a local token: `client_id` is the legal entity id, `sub` (or eHealth's `user_id`) the user,
`scope` the space-separated scopes, `exp` the expiry.

Answers are cached by the token's HMAC (never the token): active ones until
min(`exp`, AUTH_CACHE_SECONDS), inactive ones for AUTH_NEGATIVE_CACHE_SECONDS. When the
introspection server cannot be reached, is too slow, refuses our credentials or answers
something that is not an RFC 7662 answer, the request fails with 503: never "allow".
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from declaration_otp.auth.caller import TokenInfo, token_info_of
from declaration_otp.outbound import OutboundFailure, OutboundHttp
from declaration_otp.runtime import Services
from declaration_otp.settings import Settings

logger = logging.getLogger(__name__)

# RFC 6750 b64token; longer or stranger values are not sent anywhere.
_PLAUSIBLE_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]{1,4096}=*")
_MAX_USER_ID = 64  # the width of inserted_by / updated_by


class IntrospectionUnavailable(Exception):
    """The introspection server gave no usable answer: the request is refused with 503."""


async def introspected_token_info(services: Services, token: str) -> TokenInfo | None:
    if _PLAUSIBLE_TOKEN.fullmatch(token) is None:
        return None
    settings = services.settings
    key = services.secrets.token_hash(token)
    cached = services.auth_cache.get(key, services.clock())
    if cached is not None:
        return cached.value
    answer = await _introspect(services.http, settings, token)
    now = services.clock()
    info, ttl_seconds = _interpret(answer, now=now, settings=settings)
    until = now + timedelta(seconds=ttl_seconds)
    services.auth_cache.put(key, info, until=until, now=now)
    return info


async def _introspect(http: OutboundHttp, settings: Settings, token: str) -> dict[str, Any]:
    assert settings.auth_introspection_url is not None  # checked by Settings
    assert settings.auth_introspection_client_secret is not None
    credentials = (
        settings.auth_introspection_client_id or "",
        settings.auth_introspection_client_secret.get_secret_value(),
    )
    try:
        response = await http.post(
            settings.auth_introspection_url,
            form={"token": token, "token_type_hint": "access_token"},
            basic_auth=credentials,
            headers={"Accept": "application/json"},
        )
    except OutboundFailure as failure:
        # Never the token (it travels in the body) nor the URL: what failed, and how.
        raise IntrospectionUnavailable(str(failure)) from None
    if response.status != 200:
        raise IntrospectionUnavailable(f"introspection answered HTTP {response.status}")
    try:
        answer = json.loads(response.content)
    except ValueError:
        raise IntrospectionUnavailable("introspection answer is not JSON") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("active"), bool):
        raise IntrospectionUnavailable("introspection answer has no boolean `active`")
    return answer


def _interpret(
    answer: dict[str, Any], *, now: datetime, settings: Settings
) -> tuple[TokenInfo | None, float]:
    """(token info or None for "not usable", seconds to cache that)."""
    negative = None, float(settings.auth_negative_cache_seconds)
    if answer["active"] is not True:
        return negative
    scope, exp = answer.get("scope", ""), answer.get("exp")
    user_id = answer.get("sub", answer.get("user_id"))
    if not isinstance(scope, str) or (exp is not None and not _is_number(exp)):
        raise IntrospectionUnavailable("introspection answer has a malformed `scope` or `exp`")
    legal_entity_id = _uuid_or_none(answer.get("client_id"))
    if legal_entity_id is None or not isinstance(user_id, str):
        # Active, but not a token of a user acting for a legal entity.
        return negative
    user_id = user_id.strip()
    if not 1 <= len(user_id) <= _MAX_USER_ID:
        return negative
    ttl = float(settings.auth_cache_seconds)
    if exp is not None:
        remaining = (datetime.fromtimestamp(exp, UTC) - now).total_seconds()
        if remaining <= 0:
            return negative
        ttl = min(ttl, remaining)
    info = token_info_of(client_id=legal_entity_id, user_id=user_id, scopes=scope.split())
    return info, ttl


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value < 1e11


def _uuid_or_none(value: object) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
