"""`make eval`'s bounds: what no confidence or threshold can reach, and how noisy an ECE on few decisions is."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.eval import ece_if_calibrated, precision_ceiling, reliability, share_ceiling


def test_the_ceilings_of_the_real_test_split_as_documented() -> None:
    # 85 of 202 city-management messages have their best class right: 60 % means 122 dispatches.
    assert precision_ceiling(85, 202, 0.60) == 85 / 122
    assert round(share_ceiling(85, 202, 0.95), 3) == 0.443
    assert precision_ceiling(150, 202, 0.60) == 1.0 and share_ceiling(150, 202, 0.5) == 1.0


@settings(max_examples=200, deadline=None)
@given(
    messages=st.lists(st.tuples(st.floats(0.0, 1.0), st.booleans()), min_size=1, max_size=60),
    share=st.floats(0.05, 1.0),
)
def test_no_threshold_beats_the_precision_ceiling(messages: list[tuple[float, bool]], share: float) -> None:
    """Each city-management message: a confidence for its best class and whether that class is right."""
    conf = np.array([c for c, _ in messages])
    right = np.array([r for _, r in messages])
    bound = precision_ceiling(int(right.sum()), len(messages), share)
    for t in np.unique(conf):
        dispatched = conf >= t
        if dispatched.mean() >= share:
            assert right[dispatched].mean() <= bound + 1e-12
            assert dispatched.mean() <= share_ceiling(int(right.sum()), len(messages), right[dispatched].mean()) + 1e-12


def test_a_calibrated_ece_is_noisy_on_few_decisions_and_not_on_many() -> None:
    rng = np.random.default_rng(1)
    few, many = rng.uniform(0.5, 1.0, 70), rng.uniform(0.5, 1.0, 5000)
    _, high_few, chance_few = ece_if_calibrated(few, draws=400)
    _, high_many, chance_many = ece_if_calibrated(many, draws=100)
    assert high_few > 0.08 and chance_few < 0.6  # 70 decisions: 0.05 is often missed by a perfect confidence
    assert high_many < 0.03 and chance_many == 1.0
    # A confidence that says 0.9 where 60 % are right reads far outside the calibrated range.
    overconfident = np.full(300, 0.9)
    measured, _ = reliability(overconfident, rng.random(300) < 0.6)
    assert measured > ece_if_calibrated(overconfident, draws=400)[1] + 0.2
