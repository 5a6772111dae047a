"""A started service keeps the cyclic collector off what lives as long as the process (`settle_collector`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from services.runtime import GC_YOUNG_THRESHOLD, settle_collector


@pytest.fixture
def collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_what_startup_built_is_frozen_and_young_collections_wait_for_more(collector: None) -> None:
    startup = [{"rule": i, "self": None} for i in range(20_000)]
    for item in startup:
        item["self"] = item  # cycles, like model and schema graphs: only the collector could free them
    before = gc.get_freeze_count()

    settle_collector()

    assert gc.get_freeze_count() >= before + len(startup)
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
    tracked = {id(o) for o in gc.get_objects()}
    assert not any(id(item) in tracked for item in startup[:100]), "a full collection would still walk them"


def test_garbage_left_by_startup_is_freed_not_frozen(collector: None) -> None:
    import weakref

    class Node:
        other: Node | None = None

    left = Node()
    left.other = left  # a cycle nobody refers to any more: only a collection frees it
    gone = weakref.ref(left)
    del left

    settle_collector()

    assert gone() is None
