"""Callers' contact details are personal data: AES-GCM at rest, masked everywhere else, erasable.

Envelope encryption: each report's details are sealed with its own random data key, and only that key
is sealed with the configured PII key. Dropping a report's data key (crypto-shredding) erases its
details for good, also from backups that still hold the ciphertext.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import NamedTuple

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12
_NON_DIGITS = re.compile(r"\D")


def mask_name(name: str | None) -> str | None:
    """`张三丰` → `张**`, `Alice Smith` → `A**********`: enough for a clerk to address a letter, not to identify."""
    if not name or not name.strip():
        return None
    name = name.strip()
    return name[0] + "*" * (len(name) - 1)


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


class Sealed(NamedTuple):
    ciphertext: bytes
    wrapped_key: bytes


class ContactVault:
    """Encrypts a report's contact details, bound to the report id so a ciphertext cannot be moved to another row."""

    def __init__(self, secret: str) -> None:
        # The configured secret may be any string; SHA-256 turns it into the 256-bit key AES-GCM needs.
        self._aead = AESGCM(hashlib.sha256(secret.encode()).digest())

    def seal(self, report_id: str, contact: dict[str, str]) -> Sealed | None:
        """Seal under a new data key of this report; the key comes back wrapped by the PII key."""
        if not contact:
            return None
        data_key = AESGCM.generate_key(bit_length=256)
        return Sealed(
            _encrypt(AESGCM(data_key), report_id, orjson.dumps(contact)), _encrypt(self._aead, report_id, data_key)
        )

    def open(self, report_id: str, sealed: bytes, wrapped_key: bytes | None) -> dict[str, str]:
        """Raises ValueError when the ciphertext was tampered with or sealed for another report or key.

        `wrapped_key` None: a row sealed before per-report keys existed, directly under the PII key."""
        aead = AESGCM(_decrypt(self._aead, report_id, wrapped_key)) if wrapped_key is not None else self._aead
        value: dict[str, str] = orjson.loads(_decrypt(aead, report_id, sealed))
        return value


def _encrypt(aead: AESGCM, report_id: str, plain: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + aead.encrypt(nonce, plain, report_id.encode())


def _decrypt(aead: AESGCM, report_id: str, sealed: bytes) -> bytes:
    try:
        return aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], report_id.encode())
    except InvalidTag as exc:
        raise ValueError("contact details cannot be decrypted with this key for this report") from exc
