"""Local bearer tokens: issued by the CLI, stored as keyed hashes, resolved to a caller."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connexion.lifecycle import ConnexionRequest
from sqlmodel import Session, select

from declaration_otp.runtime import Services, services_of
from declaration_otp.tables import ApiToken

TOKEN_PREFIX = "dotp_"  # noqa: S105 - a marker, not a secret


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the legal entity (`client_id`) and the user acting for it."""

    legal_entity_id: uuid.UUID
    user_id: str
    scopes: frozenset[str]

    @classmethod
    def from_token_info(cls, token_info: dict[str, Any]) -> Caller:
        return cls(
            legal_entity_id=uuid.UUID(str(token_info["client_id"])),
            user_id=str(token_info["user_id"]),
            scopes=frozenset(token_info["scope"]),
        )


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def issue_token(
    session: Session,
    *,
    services: Services,
    client_id: uuid.UUID,
    user_id: str,
    scopes: list[str],
    ttl_seconds: int | None,
) -> str:
    """Store a new token's hash and return the token itself: the only time it exists in clear."""
    token = new_token()
    now = services.clock()
    session.add(
        ApiToken(
            id=uuid.uuid4(),
            token_hash=services.secrets.token_hash(token),
            client_id=client_id,
            user_id=user_id,
            scope=" ".join(sorted(set(scopes))),
            expires_at=now + timedelta(seconds=ttl_seconds) if ttl_seconds else None,
            inserted_at=now,
        )
    )
    return token


def find_token_info(session: Session, *, token_hash: str, now: datetime) -> dict[str, Any] | None:
    # Looked up by its keyed hash: timing reveals nothing about how much of a token was right.
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash)).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    return {
        "client_id": str(row.client_id),
        "user_id": row.user_id,
        "sub": row.user_id,
        "scope": row.scope.split(),
    }


async def token_info(token: str, request: ConnexionRequest) -> dict[str, Any] | None:
    """connexion's x-tokenInfoFunc: None makes a 401, scopes are then checked from the spec."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    services = services_of(request.scope)
    token_hash = services.secrets.token_hash(token)
    now = services.clock()
    return await services.database.read(
        lambda session: find_token_info(session, token_hash=token_hash, now=now)
    )
