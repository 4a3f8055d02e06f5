"""Phone numbers leave the service only masked."""

from __future__ import annotations

import re

PHONE_PATTERN = re.compile(r"^\+[0-9]{9,16}$")


def mask_phone(number: str | None) -> str | None:
    """`+380936235985` -> `+38093*****85`: first six characters, five stars, last two."""
    if number is None:
        return None
    if len(number) <= 8:
        return "*" * len(number)
    return f"{number[:6]}*****{number[-2:]}"


def is_valid_phone(number: str) -> bool:
    return bool(PHONE_PATTERN.match(number))
