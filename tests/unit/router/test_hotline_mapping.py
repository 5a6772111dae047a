"""The real 12345 category tree (517 leaves) loads as the hotline's categories, and every leaf is mapped."""

from __future__ import annotations

import json

from router.channels import ChannelCategories
from router.config import RouterSettings
from shared.contracts.common import CategoryRef
from shared.taxonomy import Taxonomy
from tests.unit.router.conftest import realdata
from tools.hotline_mapping import leaves, render


def test_every_leaf_maps_to_the_taxonomy_or_explicitly_to_the_queue() -> None:
    tree = json.loads(realdata("hotline_category_tree_3level.json").read_text(encoding="utf-8"))
    paths = leaves(tree)
    assert len(paths) == 517
    settings = RouterSettings()
    channels = ChannelCategories.load(Taxonomy.load(), settings.hotline_mapping_path)
    mapping = channels.schemes["hotline"]
    assert set(mapping) == set(paths)
    to_taxonomy = [p for p in paths if not mapping[p].queue]
    assert len(to_taxonomy) >= 40
    for path in paths:
        assert channels.resolve(CategoryRef(scheme="hotline", code=path)) is mapping[path]
    assert mapping["城乡建设/城乡规划/违章建筑"].category_id == "I0101"
    assert mapping["纪检监察/贪污贿赂/贪污"].queue


def test_committed_mapping_is_what_the_generator_writes_for_the_tree() -> None:
    tree = json.loads(realdata("hotline_category_tree_3level.json").read_text(encoding="utf-8"))
    assert RouterSettings().hotline_mapping_path.read_text(encoding="utf-8") == render(leaves(tree))


def test_leaf_found_by_other_spellings() -> None:
    channels = ChannelCategories.load(Taxonomy.load(), RouterSettings().hotline_mapping_path)
    for code in ("城乡建设 > 城乡规划 > 违章建筑", "城乡规划/违章建筑", "违章建筑"):
        target = channels.resolve(CategoryRef(scheme="hotline", code=code))
        assert target is not None and target.category_id == "I0101", code
    assert channels.resolve(CategoryRef(scheme="hotline", code="其他")) is None  # 一 leaf name, many branches
