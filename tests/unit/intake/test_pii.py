"""Phone numbers: masked in events and logs, sealed with AES-GCM at rest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.pii import ContactVault, mask_name, mask_phone


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+86 138-1234-5678", "861****5678"),
        ("010-65123456", "010****3456"),
        ("12345", "***45"),
        ("", None),
        (None, None),
    ],
)
def test_phone_is_masked_to_its_ends(phone: str | None, masked: str | None) -> None:
    assert mask_phone(phone) == masked


@given(st.from_regex(r"\A1[3-9][0-9]{9}\Z"))
def test_masked_mobile_never_shows_the_middle_four_digits(phone: str) -> None:
    masked = mask_phone(phone)
    assert masked == f"{phone[:3]}****{phone[-4:]}" and phone not in (masked or "")


def test_contact_is_sealed_per_report_and_key() -> None:
    vault = ContactVault("secret-1")
    sealed = vault.seal("R1", {"phone": "13812345678"})
    assert sealed is not None and b"13812345678" not in sealed.ciphertext
    ciphertext, key = sealed
    assert vault.open("R1", ciphertext, key) == {"phone": "13812345678"}
    assert vault.seal("R1", {}) is None
    with pytest.raises(ValueError):
        vault.open("R2", ciphertext, key)  # moved to another row
    with pytest.raises(ValueError):
        ContactVault("secret-2").open("R1", ciphertext, key)
    with pytest.raises(ValueError):
        vault.open("R1", ciphertext[:-1] + bytes([ciphertext[-1] ^ 1]), key)


def test_each_report_has_its_own_data_key_so_dropping_it_erases_only_that_report() -> None:
    vault = ContactVault("secret-1")
    one, two = vault.seal("R1", {"phone": "13812345678"}), vault.seal("R2", {"phone": "13812345678"})
    assert one is not None and two is not None and one.wrapped_key != two.wrapped_key
    with pytest.raises(ValueError):
        vault.open("R1", one.ciphertext, two.wrapped_key)  # another report's key does not open it
    with pytest.raises(ValueError):
        vault.open("R1", one.ciphertext, None)  # nor does the PII key itself: without its own key it is noise


def test_rows_sealed_before_per_report_keys_still_open() -> None:
    legacy = bytes.fromhex("00" * 12)
    import hashlib

    import orjson
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(hashlib.sha256(b"secret-1").digest())
    legacy += aead.encrypt(legacy, orjson.dumps({"phone": "010-65123456"}), b"R9")
    assert ContactVault("secret-1").open("R9", legacy, None) == {"phone": "010-65123456"}


@pytest.mark.parametrize(("name", "masked"), [("张三丰", "张**"), ("李", "李"), (" ", None), (None, None)])
def test_names_are_masked_to_their_first_character(name: str | None, masked: str | None) -> None:
    assert mask_name(name) == masked
