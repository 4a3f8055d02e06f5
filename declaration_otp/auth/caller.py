"""Who is calling, whatever the authentication mode: a legal entity, a user and scopes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, TypedDict


class TokenInfo(TypedDict):
    """What every mode resolves a request to; connexion checks `scope` against the spec."""

    client_id: str  # the legal entity id, a UUID
    user_id: str
    sub: str
    scope: list[str]


def token_info_of(*, client_id: uuid.UUID, user_id: str, scopes: list[str]) -> TokenInfo:
    return {
        "client_id": str(client_id),
        "user_id": user_id,
        "sub": user_id,
        "scope": scopes,
    }


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the legal entity (`client_id`) and the user acting for it."""

    legal_entity_id: uuid.UUID
    user_id: str
    scopes: frozenset[str]

    @classmethod
    def from_token_info(cls, token_info: TokenInfo | dict[str, Any]) -> Caller:
        return cls(
            legal_entity_id=uuid.UUID(str(token_info["client_id"])),
            user_id=str(token_info["user_id"]),
            scopes=frozenset(token_info["scope"]),
        )
