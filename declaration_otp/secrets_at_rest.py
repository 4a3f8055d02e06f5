"""Keys derived once from SECRET_KEY: HMACs for codes and tokens, AES-GCM for queued SMS texts."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from declaration_otp.randomness import random_bytes

_NONCE_BYTES = 12


def _derive(secret: bytes, purpose: str) -> bytes:
    return hmac.new(secret, f"declaration-otp/{purpose}".encode(), hashlib.sha256).digest()


class SecretBox:
    """Everything that turns a secret into something safe to store."""

    def __init__(self, secret_key: str) -> None:
        secret = secret_key.encode()
        self._code_key = _derive(secret, "otp-code")
        self._token_key = _derive(secret, "api-token")
        self._sms_cipher = AESGCM(_derive(secret, "sms-body"))

    def code_hash(self, verification_id: uuid.UUID, code: str) -> str:
        # Bound to the verification id: one request's code can never match another's hash.
        message = f"{verification_id}:{code}".encode()
        return hmac.new(self._code_key, message, hashlib.sha256).hexdigest()

    def code_matches(self, verification_id: uuid.UUID, code: str, stored_hash: str) -> bool:
        return hmac.compare_digest(self.code_hash(verification_id, code), stored_hash)

    def token_hash(self, token: str) -> str:
        return hmac.new(self._token_key, token.encode(), hashlib.sha256).hexdigest()

    def seal_sms(self, message_id: uuid.UUID, text: str) -> bytes:
        nonce = random_bytes(_NONCE_BYTES)
        return nonce + self._sms_cipher.encrypt(nonce, text.encode(), message_id.bytes)

    def open_sms(self, message_id: uuid.UUID, sealed: bytes) -> str:
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return self._sms_cipher.decrypt(nonce, ciphertext, message_id.bytes).decode()
