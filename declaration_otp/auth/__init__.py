"""Authentication: who is calling, in one of three modes (AUTH_MODE).

- `local` (`local.py`): bearer tokens issued by `declaration-otp token issue`, kept as hashes;
- `introspection` (`introspection.py`): bearer tokens checked with an RFC 7662 server;
- `gateway` (`gateway.py`): identity headers set by an upstream API gateway.

Every mode resolves a request to the same `TokenInfo` (`caller.py`); connexion then checks the
scopes the spec requires (403) and `app.as_endpoint` hands handlers a `Caller`.
"""

from __future__ import annotations

from connexion.lifecycle import ConnexionRequest

from declaration_otp.auth.caller import Caller, TokenInfo
from declaration_otp.auth.introspection import IntrospectionUnavailable, introspected_token_info
from declaration_otp.auth.local import TOKEN_PREFIX, find_token_info, issue_token, new_token
from declaration_otp.auth.local import local_token_info as local_token_info
from declaration_otp.auth.scheme_handler import SchemeHandler
from declaration_otp.runtime import services_of
from declaration_otp.settings import Settings

__all__ = [
    "TOKEN_PREFIX",
    "Caller",
    "IntrospectionUnavailable",
    "TokenInfo",
    "find_token_info",
    "issue_token",
    "new_token",
    "security_map",
    "startup_warnings",
    "token_info",
]


async def token_info(token: str, request: ConnexionRequest) -> TokenInfo | None:
    """connexion's x-tokenInfoFunc for bearer tokens: None makes a 401, then scopes → 403."""
    services = services_of(request.scope)
    if services.settings.auth_mode == "introspection":
        return await introspected_token_info(services, token)
    return await local_token_info(services, token)


def security_map(settings: Settings) -> dict[str, type]:
    """The handler of the spec's `oauth2` scheme, per AUTH_MODE."""
    if settings.auth_mode == "gateway":
        from declaration_otp.auth.gateway import GatewaySecurityHandler

        return {"oauth2": GatewaySecurityHandler}
    return {"oauth2": SchemeHandler}


def startup_warnings(settings: Settings) -> list[str]:
    if settings.auth_mode != "gateway":
        return []
    warnings = [
        "AUTH_MODE=gateway: x-consumer-* headers are trusted as the caller's identity; "
        "this service must only be reachable through the gateway"
    ]
    if settings.auth_gateway_secret is None:
        warnings.append(
            "AUTH_MODE=gateway without AUTH_GATEWAY_SECRET: any client that reaches "
            "this port can claim any identity"
        )
    return warnings
