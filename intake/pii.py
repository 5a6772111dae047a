"""Callers' contact details are personal data: AES-GCM at rest, masked everywhere else."""

from __future__ import annotations

import hashlib
import os
import re

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12
_NON_DIGITS = re.compile(r"\D")


def mask_phone(phone: str | None) -> str | None:
    """`13812345678` → `138****5678`; short numbers keep only their last two digits."""
    if not phone:
        return None
    digits = _NON_DIGITS.sub("", phone)
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 3:
        return f"{'*' * (len(digits) - 2)}{digits[-2:]}"
    return "*" * len(digits) or None


class ContactVault:
    """Encrypts a report's contact details, bound to the report id so a ciphertext cannot be moved to another row."""

    def __init__(self, secret: str) -> None:
        # The configured secret may be any string; SHA-256 turns it into the 256-bit key AES-GCM needs.
        self._aead = AESGCM(hashlib.sha256(secret.encode()).digest())

    def seal(self, report_id: str, contact: dict[str, str]) -> bytes | None:
        if not contact:
            return None
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, orjson.dumps(contact), report_id.encode())

    def open(self, report_id: str, sealed: bytes) -> dict[str, str]:
        """Raises ValueError when the ciphertext was tampered with or sealed for another report or key."""
        try:
            plain = self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], report_id.encode())
        except InvalidTag as exc:
            raise ValueError("contact details cannot be decrypted with this key for this report") from exc
        value: dict[str, str] = orjson.loads(plain)
        return value
