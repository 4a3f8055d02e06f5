"""Pure OTP rules: codes, send limits and attempts, without a database."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

import pytest

from declaration_otp.otp_rules import (
    AttemptOutcome,
    AttemptResult,
    VerificationStatus,
    check_send_limits,
    generate_code,
    judge_attempt,
)
from declaration_otp.settings import SendLimit, Settings, parse_send_limits

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("length", [4, 6, 8])
def test_codes_have_the_length_and_no_leading_zero(length: int) -> None:
    codes = [generate_code(length) for _ in range(500)]
    assert all(len(code) == length and code.isdigit() and code[0] != "0" for code in codes)
    assert len(set(codes)) > 400


def test_code_digits_come_from_the_given_source() -> None:
    rng = random.Random(7)
    assert generate_code(6, randbelow=rng.randrange) == generate_code(
        6, randbelow=random.Random(7).randrange
    )


def test_codes_span_every_code_of_their_length() -> None:
    assert generate_code(6, randbelow=lambda bound: 0) == "100000"
    assert generate_code(6, randbelow=lambda bound: bound - 1) == "999999"
    assert generate_code(4, randbelow=lambda bound: bound - 1) == "9999"


def test_every_digit_is_uniform() -> None:
    rng = random.Random(11)
    codes = [generate_code(6, randbelow=rng.randrange) for _ in range(45_000)]
    first = Counter(code[0] for code in codes)
    assert sorted(first) == list("123456789")
    assert all(abs(count - 5_000) < 500 for count in first.values())
    for position in range(1, 6):
        digits = Counter(code[position] for code in codes)
        assert sorted(digits) == list("0123456789")
        assert all(abs(count - 4_500) < 450 for count in digits.values())


@pytest.mark.parametrize("length", [3, 9])
def test_code_length_outside_4_to_8_is_refused(length: int) -> None:
    with pytest.raises(ValueError):
        generate_code(length)


def test_first_code_is_always_allowed() -> None:
    decision = check_send_limits(
        now=NOW, sent_times=[], cooldown_seconds=60, limits=[SendLimit(5, 600)]
    )
    assert decision.allowed


def test_cooldown_gives_the_remaining_seconds() -> None:
    decision = check_send_limits(now=NOW, sent_times=[ago(15)], cooldown_seconds=60, limits=[])
    assert not decision.allowed
    assert decision.retry_after_seconds == 45
    assert decision.limit == "cooldown"


def test_window_limit_waits_until_the_oldest_send_leaves() -> None:
    sent = [ago(500), ago(400), ago(300), ago(200), ago(100)]
    decision = check_send_limits(
        now=NOW, sent_times=sent, cooldown_seconds=60, limits=[SendLimit(5, 600)]
    )
    assert not decision.allowed
    assert decision.retry_after_seconds == 100
    assert decision.limit == "5/600"


def test_sends_outside_the_window_do_not_count() -> None:
    sent = [ago(900), ago(800), ago(700), ago(650), ago(610)]
    decision = check_send_limits(
        now=NOW, sent_times=sent, cooldown_seconds=60, limits=[SendLimit(5, 600)]
    )
    assert decision.allowed


def test_the_longest_wait_wins() -> None:
    sent = [ago(86000 - i * 100) for i in range(10)]
    decision = check_send_limits(
        now=NOW, sent_times=sent, cooldown_seconds=60, limits=parse_send_limits("5/600,10/86400")
    )
    assert not decision.allowed
    assert decision.limit == "10/86400"
    assert decision.retry_after_seconds == 400


@pytest.mark.parametrize("text", ["5", "5/", "0/60", "a/b", "5/-1"])
def test_bad_limit_settings_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_send_limits(text)


def test_empty_limit_setting_means_no_window_limits() -> None:
    assert parse_send_limits("") == ()


def _attempt(**overrides: Any) -> AttemptResult:
    arguments: dict[str, Any] = {
        "now": NOW,
        "active": True,
        "status": VerificationStatus.NEW,
        "attempts_count": 0,
        "max_attempts": 3,
        "code_expired_at": NOW + dt.timedelta(minutes=5),
        "code_matches": False,
        **overrides,
    }
    return judge_attempt(**arguments)


def test_right_code_verifies_and_deactivates() -> None:
    result = _attempt(code_matches=True)
    assert result.outcome is AttemptOutcome.VERIFIED
    assert result.status is VerificationStatus.VERIFIED
    assert result.active is False


def test_wrong_code_counts_and_the_last_attempt_closes_the_code() -> None:
    first = _attempt()
    assert first.outcome is AttemptOutcome.INVALID_CODE and first.active
    last = _attempt(attempts_count=2)
    assert last.outcome is AttemptOutcome.INVALID_CODE
    assert last.status is VerificationStatus.UNVERIFIED and not last.active


def test_expired_code_counts_as_an_attempt_even_when_right() -> None:
    result = _attempt(code_matches=True, code_expired_at=NOW)
    assert result.outcome is AttemptOutcome.EXPIRED
    assert result.attempts_count == 1


@pytest.mark.parametrize("overrides", [{"active": False}, {"attempts_count": 3}])
def test_closed_code_is_exhausted_and_not_counted(overrides: dict[str, object]) -> None:
    result = _attempt(code_matches=True, **overrides)
    assert result.outcome is AttemptOutcome.EXHAUSTED
    assert result.outcome.value == "Maximum attempts exceed"


def test_settings_read_their_own_limits_and_prefixes_after_a_copy() -> None:
    # Parsed once per text and kept: a copy made with other values must not read the first's.
    first = Settings(otp_phone_send_limits="5/600", sms_allowed_prefixes="+380")
    assert first.send_limits == (SendLimit(count=5, window_seconds=600),)
    assert first.send_limits is first.send_limits
    copy = first.model_copy(
        update={"otp_phone_send_limits": "3/60,7/3600", "sms_allowed_prefixes": "+380, +48"}
    )
    assert copy.send_limits == (
        SendLimit(count=3, window_seconds=60),
        SendLimit(count=7, window_seconds=3600),
    )
    assert copy.allowed_sms_prefixes == ("+380", "+48")
    assert first.send_limits == (SendLimit(count=5, window_seconds=600),)
    assert first.allowed_sms_prefixes == ("+380",)
