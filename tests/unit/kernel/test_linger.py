"""A consumer or relay waits for more in proportion to what it just found, up to its linger."""

from hypothesis import given
from hypothesis import strategies as st

from shared.bus.base import LINGER_FULL_AT, linger_for


def test_a_trickle_waits_a_little_and_a_busy_poll_the_whole_linger() -> None:
    assert linger_for(1, 0.05) == 0.05 / LINGER_FULL_AT
    assert linger_for(LINGER_FULL_AT, 0.05) == linger_for(500, 0.05) == 0.05


@given(st.integers(1, 1000), st.integers(1, 1000), st.floats(0, 1))
def test_more_found_never_waits_less_nor_past_the_linger(a: int, b: int, linger_s: float) -> None:
    low, high = sorted((a, b))
    assert 0 < linger_for(low, linger_s) <= linger_for(high, linger_s) <= linger_s or linger_s == 0
