"""Pure OTP rules: code generation, send limits, attempts.

No I/O, so they are tested without a database.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from declaration_otp.randomness import random_below
from declaration_otp.settings import SendLimit


class VerificationStatus(StrEnum):
    NEW = "NEW"
    CANCELED = "CANCELED"
    VERIFIED = "VERIFIED"
    UNVERIFIED = "UNVERIFIED"
    EXPIRED = "EXPIRED"


def generate_code(length: int, *, randbelow: Callable[[int], int] = random_below) -> str:
    """A code of `length` digits whose first digit is not zero (the API carries it as a number)."""
    if not 4 <= length <= 8:
        raise ValueError("code length must be between 4 and 8")
    # One draw over all codes of that length: each digit as uniform as drawn one by one, and one
    # read of the system's random source per code instead of one per digit.
    smallest = 10 ** (length - 1)
    return str(smallest + randbelow(9 * smallest))


@dataclass(frozen=True, slots=True)
class LimitDecision:
    """Whether a new code may be sent now and, if not, how long the caller should wait."""

    allowed: bool
    retry_after_seconds: int = 0
    limit: str = ""


def check_send_limits(
    *,
    now: datetime,
    sent_times: Sequence[datetime],
    cooldown_seconds: int,
    limits: Sequence[SendLimit],
) -> LimitDecision:
    """Decide from the times codes were sent to one phone (any order) whether another may go."""
    waits: list[tuple[float, str]] = []
    if sent_times and cooldown_seconds:
        since_last = (now - max(sent_times)).total_seconds()
        if since_last < cooldown_seconds:
            waits.append((cooldown_seconds - since_last, "cooldown"))
    for limit in limits:
        window_start = now - timedelta(seconds=limit.window_seconds)
        in_window = sorted(t for t in sent_times if t > window_start)
        if len(in_window) >= limit.count:
            # Free again when enough of the oldest sends leave the window.
            frees_at = in_window[len(in_window) - limit.count] + timedelta(
                seconds=limit.window_seconds
            )
            waits.append(
                ((frees_at - now).total_seconds(), f"{limit.count}/{limit.window_seconds}")
            )
    if not waits:
        return LimitDecision(allowed=True)
    seconds, name = max(waits)
    return LimitDecision(allowed=False, retry_after_seconds=max(1, math.ceil(seconds)), limit=name)


def longest_window_seconds(cooldown_seconds: int, limits: Sequence[SendLimit]) -> int:
    return max([cooldown_seconds, *(limit.window_seconds for limit in limits)])


class AttemptOutcome(StrEnum):
    VERIFIED = "verified"
    INVALID_CODE = "Invalid verification code"
    EXPIRED = "Verification code expired"
    EXHAUSTED = "Maximum attempts exceed"


@dataclass(frozen=True, slots=True)
class AttemptResult:
    outcome: AttemptOutcome
    attempts_count: int
    status: VerificationStatus
    active: bool


def judge_attempt(
    *,
    now: datetime,
    active: bool,
    status: VerificationStatus,
    attempts_count: int,
    max_attempts: int,
    code_expired_at: datetime,
    code_matches: bool,
) -> AttemptResult:
    """What one approval attempt does to a verification: the upstream OTP service's rules."""
    if status is VerificationStatus.EXPIRED:
        # Retired by housekeeping after its lifetime: say so, as before it was retired.
        return AttemptResult(AttemptOutcome.EXPIRED, attempts_count, status, active)
    if not active or attempts_count >= max_attempts:
        return AttemptResult(AttemptOutcome.EXHAUSTED, attempts_count, status, active)
    attempts = attempts_count + 1
    if now >= code_expired_at:
        outcome = AttemptOutcome.EXPIRED
    elif code_matches:
        return AttemptResult(AttemptOutcome.VERIFIED, attempts, VerificationStatus.VERIFIED, False)
    else:
        outcome = AttemptOutcome.INVALID_CODE
    if attempts >= max_attempts:
        return AttemptResult(outcome, attempts, VerificationStatus.UNVERIFIED, False)
    return AttemptResult(outcome, attempts, status, True)
