"""Masking phones, hashing codes and tokens, sealing SMS texts."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from cryptography.exceptions import InvalidTag

from declaration_otp.phone import is_valid_phone, mask_phone
from declaration_otp.secrets_at_rest import SecretBox


def test_phone_is_masked_like_ehealth() -> None:
    assert mask_phone("+380936235985") == "+38093*****85"
    assert mask_phone(None) is None
    assert mask_phone("+3801") == "*****"


@pytest.mark.parametrize(
    ("number", "valid"),
    [("+380936235985", True), ("380936235985", False), ("+38093", False), ("+38093623598x", False)],
)
def test_phone_pattern(number: str, valid: bool) -> None:
    assert is_valid_phone(number) is valid


def test_code_hash_is_keyed_and_bound_to_the_verification() -> None:
    box, other_key = SecretBox("key-one"), SecretBox("key-two")
    first, second = uuid.uuid4(), uuid.uuid4()
    stored = box.code_hash(first, "123456")
    assert stored != hashlib.sha256(b"123456").hexdigest()
    assert box.code_matches(first, "123456", stored)
    assert not box.code_matches(first, "123457", stored)
    assert not box.code_matches(second, "123456", stored)
    assert not other_key.code_matches(first, "123456", stored)


def test_sealed_sms_opens_only_for_its_message_and_key() -> None:
    box = SecretBox("key-one")
    message_id = uuid.uuid4()
    sealed = box.seal_sms(message_id, "Код: 123456")
    assert b"123456" not in sealed
    assert box.open_sms(message_id, sealed) == "Код: 123456"
    with pytest.raises(InvalidTag):
        box.open_sms(uuid.uuid4(), sealed)
    with pytest.raises(InvalidTag):
        SecretBox("key-two").open_sms(message_id, sealed)
