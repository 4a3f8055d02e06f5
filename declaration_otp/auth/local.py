"""Local bearer tokens (AUTH_MODE=local): issued by the CLI, stored only as keyed hashes.

A presented token is turned into its HMAC and looked up by that value alone: the database never
compares anything an attacker controls, so the time an answer takes says nothing about how much
of a real token was guessed.
"""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from declaration_otp.auth.caller import TokenInfo, token_info_of
from declaration_otp.prepared import Prepared
from declaration_otp.randomness import random_uuid
from declaration_otp.runtime import Services
from declaration_otp.tables import ApiToken

TOKEN_PREFIX = "dotp_"  # noqa: S105 - a marker, not a secret
_TOKEN_BYTES = 32
# The shape `new_token` produces; anything else cannot be one of ours and skips the database.
TOKEN_SHAPE = re.compile(r"dotp_[A-Za-z0-9_-]{43}")
_API_TOKENS: Table = ApiToken.__table__  # type: ignore[attr-defined]
# Every request runs this lookup: a Core statement built once, only the columns needed, no ORM
# object to load and track.
_FIND_TOKEN = Prepared(  # on every request: see prepared.py
    sa_select(
        _API_TOKENS.c.token_hash,
        _API_TOKENS.c.client_id,
        _API_TOKENS.c.user_id,
        _API_TOKENS.c.scope,
        _API_TOKENS.c.expires_at,
        _API_TOKENS.c.revoked_at,
    ).where(_API_TOKENS.c.token_hash == bindparam("token_hash"))
)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)


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
            id=random_uuid(),
            token_hash=services.secrets.token_hash(token),
            client_id=client_id,
            user_id=user_id,
            scope=" ".join(sorted(set(scopes))),
            expires_at=now + timedelta(seconds=ttl_seconds) if ttl_seconds else None,
            inserted_at=now,
        )
    )
    return token


def find_token_info(session: Session, *, token_hash: str, now: datetime) -> TokenInfo | None:
    """The token info of a live (known, unrevoked, unexpired) token, found by its keyed hash."""
    row = _FIND_TOKEN.first(session, {"token_hash": token_hash})
    # The index already matched the hash; comparing again in constant time costs nothing.
    if row is None or not hmac.compare_digest(row.token_hash, token_hash):
        return None
    if row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    return token_info_of(client_id=row.client_id, user_id=row.user_id, scopes=row.scope.split())


async def local_token_info(services: Services, token: str) -> TokenInfo | None:
    if TOKEN_SHAPE.fullmatch(token) is None:
        return None
    token_hash = services.secrets.token_hash(token)
    now = services.clock()
    return await services.database.read(
        lambda session: find_token_info(session, token_hash=token_hash, now=now),
        one_statement=True,
    )


# --- management (the CLI) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenSummary:
    """A token as the operator may see it: never the token, never its hash."""

    id: uuid.UUID
    client_id: uuid.UUID
    user_id: str
    scopes: tuple[str, ...]
    inserted_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def _summary(row: ApiToken) -> TokenSummary:
    return TokenSummary(
        id=row.id,
        client_id=row.client_id,
        user_id=row.user_id,
        scopes=tuple(row.scope.split()),
        inserted_at=row.inserted_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def list_tokens(session: Session, *, client_id: uuid.UUID | None = None) -> list[TokenSummary]:
    query = select(ApiToken).order_by(col(ApiToken.inserted_at), col(ApiToken.id))
    if client_id is not None:
        query = query.where(ApiToken.client_id == client_id)
    return [_summary(row) for row in session.exec(query).all()]


def revoke_token(session: Session, *, token_id: uuid.UUID, now: datetime) -> TokenSummary | None:
    """Revoke a token by its row id; a second revoke keeps the first time. None if unknown."""
    row = session.get(ApiToken, token_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        session.flush()
    return _summary(row)
