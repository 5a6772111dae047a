"""Phone numbers: masked in events and logs, sealed with AES-GCM at rest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.pii import ContactVault, mask_phone


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13812345678", "138****5678"), ("+86 138-1234-5678", "861****5678"), ("010-65123456", "010****3456"),
     ("12345", "***45"), ("", None), (None, None)],
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
    assert sealed is not None and b"13812345678" not in sealed
    assert vault.open("R1", sealed) == {"phone": "13812345678"}
    assert vault.seal("R1", {}) is None
    with pytest.raises(ValueError):
        vault.open("R2", sealed)  # moved to another row
    with pytest.raises(ValueError):
        ContactVault("secret-2").open("R1", sealed)
    with pytest.raises(ValueError):
        vault.open("R1", sealed[:-1] + bytes([sealed[-1] ^ 1]))
