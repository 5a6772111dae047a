"""A fold may move a batch's commuting events together, so each type is one run (`shared.handling.gathered`)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared.handling import gathered

RUNS = ("decided", "merged")


def events(types: list[str]) -> list[tuple[Any, int]]:
    return [(SimpleNamespace(type=t), i) for i, t in enumerate(types)]


def kinds(batch: list[tuple[Any, int]]) -> list[str]:
    return [envelope.type for envelope, _ in batch]


def test_alternating_decisions_and_merges_become_one_run_each_between_other_events() -> None:
    batch = events(["merged", "decided", "merged", "decided", "updated", "decided", "merged", "decided"])
    out = gathered(batch, RUNS)
    assert kinds(out) == ["decided", "decided", "merged", "merged", "updated", "decided", "decided", "merged"]
    assert [i for _, i in out] == [1, 3, 0, 2, 4, 5, 7, 6]


@given(st.lists(st.sampled_from(["decided", "merged", "updated", "closed"]), max_size=40))
def test_only_commuting_events_move_and_each_type_keeps_its_bus_order(types: list[str]) -> None:
    out = gathered(events(types), RUNS)
    assert sorted(i for _, i in out) == list(range(len(types)))
    for kind in set(types):
        assert [i for e, i in out if e.type == kind] == [i for i, t in enumerate(types) if t == kind]
    barriers = [pos for pos, (e, _) in enumerate(out) if e.type not in RUNS]
    assert [out[pos][1] for pos in barriers] == [i for i, t in enumerate(types) if t not in RUNS]
    for stretch_start, stretch_end in zip([-1, *barriers], [*barriers, len(out)], strict=True):
        stretch = kinds(out[stretch_start + 1 : stretch_end])
        assert stretch == sorted(stretch, key=RUNS.index)  # decisions first, then merges: one run each
