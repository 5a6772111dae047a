"""The labelled real citizen messages behind `make eval`: the committed labels, and a guard on real prose.

Texts come from ../shared/realdata (or CITYLOOP_REALDATA); without them only the label file is checked.
"""

from __future__ import annotations

from collections import Counter

import pytest
import yaml

from router.classify import NONE_LABEL, UNCLASSED, TextClassifier
from router.config import RouterSettings
from router.reference import ReferenceData
from shared.taxonomy import Taxonomy
from tools import realdata


def test_labels_are_ids_classes_and_a_fixed_split() -> None:
    rows = realdata.read_labels()
    assert len(rows) >= 600
    assert len({message_id for message_id, _, _ in rows}) == len(rows)
    allowed = {c.id for c in Taxonomy.load()} | {NONE_LABEL, UNCLASSED}
    assert {label for _, label, _ in rows} <= allowed
    splits = Counter(split for _, _, split in rows)
    assert splits["test"] >= 150 and splits["calibration"] >= 150 and splits["train"] >= 200
    # Each kind of label is spread over all three splits (stratified), so the test split measures all of them.
    for kind in ("none", "unclassed", "class"):
        per = Counter(s for _, label, s in rows if (label if label in (NONE_LABEL, UNCLASSED) else "class") == kind)
        assert min(per[s] for s in ("train", "calibration", "test")) >= 10, (kind, per)


def test_labels_added_after_the_first_batch_are_split_by_their_id_alone() -> None:
    """New labels cannot be placed in a split by how the model does on them: the split is a hash of the id."""
    lines = realdata.LABELS.read_text(encoding="utf-8").splitlines()
    marker = next(i for i, line in enumerate(lines) if line.startswith("# Second batch"))
    later = [line.split("\t") for line in lines[marker:] if line and not line.startswith("#")]
    assert len(later) >= 900
    assert all(split == realdata.hash_split(message_id) for message_id, _, split in later)
    shares = Counter(realdata.hash_split(str(i)) for i in range(20_000))
    assert abs(shares["train"] / 20_000 - 0.4) < 0.02 and abs(shares["test"] / 20_000 - 0.3) < 0.02


@pytest.fixture(scope="module")
def real_rows() -> list[realdata.Labelled]:
    if not realdata.available():
        pytest.skip(f"real messages not at {realdata.messages_path()} (../shared/realdata or CITYLOOP_REALDATA)")
    return realdata.load()


def test_every_labelled_id_is_a_real_message(real_rows: list[realdata.Labelled]) -> None:
    assert len(real_rows) == len(realdata.read_labels())
    assert all(row.text and row.title for row in real_rows)


def test_out_of_scope_real_messages_are_not_dispatched(real_rows: list[realdata.Labelled], ref: ReferenceData) -> None:
    """Wages, schools, pensions: on the calibration split at the district's threshold, at most 2 % dispatched."""
    classifier: TextClassifier = ref.categorizer.classifier
    settings = RouterSettings()
    threshold = float(yaml.safe_load(settings.rules_path.read_text(encoding="utf-8"))["classification_threshold"])
    outside = [row for row in real_rows if row.split == "calibration" and row.label == NONE_LABEL]
    dispatched = [
        row.message_id
        for row in outside
        if (c := classifier.classify(row.full_text)).category_id is not None and c.confidence >= threshold
    ]
    assert len(dispatched) <= 0.02 * len(outside), dispatched


def test_dispatches_on_real_prose_are_mostly_right(real_rows: list[realdata.Labelled], ref: ReferenceData) -> None:
    """A guard against regressions on the calibration split (the figures are in `make eval`)."""
    classifier: TextClassifier = ref.categorizer.classifier
    settings = RouterSettings()
    threshold = float(yaml.safe_load(settings.rules_path.read_text(encoding="utf-8"))["classification_threshold"])
    with_class = [row for row in real_rows if row.split == "calibration" and row.has_class]
    decided = [(row, classifier.classify(row.full_text)) for row in with_class]
    dispatched = [(row, c) for row, c in decided if c.category_id is not None and c.confidence >= threshold]
    right = [row for row, c in dispatched if c.category_id == row.label]
    assert len(dispatched) >= 0.1 * len(with_class)
    assert len(right) >= 0.85 * len(dispatched), [(r.message_id, r.label, c.category_id) for r, c in dispatched]
