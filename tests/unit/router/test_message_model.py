"""tools/calibrate.py: the committed message model is the fitted one, and only words many messages share enter it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.classify import (
    NONE_LABEL,
    UNCLASSED,
    KeywordMatcher,
    LinearTextModel,
    MessageModel,
    Segmenter,
    TextClassifier,
    calibrated,
)
from router.config import RouterSettings
from tools import calibrate, realdata

SYNTHETIC = [
    ("C0118", "路灯 不亮 晚上 很黑"),
    ("C0118", "路灯 坏了 没有 照明"),
    ("C0118", "小区 路灯 不亮"),
    ("I0101", "私搭乱建 彩钢房 违章"),
    ("I0101", "乱建 房子 违章 搭建"),
    ("I0101", "楼顶 违章 搭建"),
    (NONE_LABEL, "咨询 公积金 政策 办理"),
    (NONE_LABEL, "咨询 社保 政策 手续"),
    (NONE_LABEL, "咨询 学校 入学 政策"),
]
REAL = [
    realdata.Labelled(str(i), label, "train", title, text)
    for i, (label, title, text) in enumerate(
        [
            ("C0118", "小区路灯不亮", "晚上很黑，路灯坏了很久"),
            ("C0118", "路灯不亮", "路灯坏了，没有照明"),
            ("C0118", "请修路灯", "路灯不亮，晚上很黑"),
            (UNCLASSED, "电梯坏了", "小区电梯经常停运"),
            (UNCLASSED, "电梯问题", "电梯坏了没人修"),
            (UNCLASSED, "电梯停运", "电梯停运一个月"),
            (NONE_LABEL, "咨询政策", "咨询公积金政策"),
            (NONE_LABEL, "咨询入学", "咨询学校入学政策"),
            (NONE_LABEL, "咨询社保", "咨询社保手续"),
        ]
    )
]


@pytest.fixture(scope="module")
def plain() -> TextClassifier:
    return TextClassifier(LinearTextModel.fit(SYNTHETIC, Segmenter()), KeywordMatcher({}))


def test_committed_weights_reproduce_the_fitted_model(plain: TextClassifier, monkeypatch: pytest.MonkeyPatch) -> None:
    """Routing reads a text exactly as training did: the document gives scikit-learn's probabilities."""
    monkeypatch.setattr(calibrate, "PRUNE", 0.0)
    monkeypatch.setattr(calibrate, "PRUNE_SYNTHETIC", 0.0)
    document, fitted, features = calibrate.fit(plain, SYNTHETIC, REAL, "fingerprint")
    model = MessageModel.from_document({"model": document, "calibration": calibrate.IDENTITY})
    classifier = TextClassifier(plain.model, plain.matcher, messages=model)
    expected = fitted.predict_proba(features)
    texts = [text for _, text in SYNTHETIC] + [row.full_text for row in REAL]
    for text, want in zip(texts, expected, strict=True):
        got = model.probabilities(*classifier.features(text)[:2])
        np.testing.assert_allclose(got, want, atol=0.01)
    json.dumps(document, ensure_ascii=False)  # committable as it is
    assert classifier.classify("小区路灯不亮。晚上很黑，路灯坏了很久").category_id == "C0118"


def test_pruned_model_keeps_its_decisions(plain: TextClassifier) -> None:
    document, fitted, features = calibrate.fit(plain, SYNTHETIC, REAL, "fingerprint")
    model = MessageModel.from_document({"model": document, "calibration": calibrate.IDENTITY})
    classifier = TextClassifier(plain.model, plain.matcher, messages=model)
    texts = [text for _, text in SYNTHETIC] + [row.full_text for row in REAL]
    got = [model.classes[int(np.argmax(model.probabilities(*classifier.features(t)[:2])))] for t in texts]
    assert got == list(fitted.classes_[np.argmax(fitted.predict_proba(features), axis=1)])


WORD = st.text(alphabet=st.sampled_from(list("路灯电梯咨询名字张三李四")), min_size=1, max_size=3)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(WORD, max_size=6), max_size=12), st.lists(st.lists(WORD, max_size=6), max_size=12))
def test_only_words_many_messages_share_enter_the_model(real: list[list[str]], synthetic: list[list[str]]) -> None:
    """A name seen in one or two messages cannot be read back out of the committed file."""
    vocab = set(calibrate.vocabulary([synthetic, real]))
    for word in vocab:
        assert max(sum(word in set(doc) for doc in docs) for docs in (synthetic, real)) >= calibrate.MIN_DF


@pytest.mark.parametrize("feature", ["A3区", "T:K7县", "2019年", "12345", "T:3"])
def test_numbers_and_place_codes_never_enter_the_model(feature: str) -> None:
    assert calibrate.vocabulary([[[feature]] * 5]) == []
    assert calibrate.vocabulary([[["路灯"]] * 5]) == ["路灯"]


def test_committed_model_holds_no_message_text() -> None:
    """The file has words and numbers; no feature is as long as a sentence."""
    path = RouterSettings().classifier_calibration_path
    assert path is not None
    data = json.loads(path.read_text(encoding="utf-8"))
    model = MessageModel.from_document(data, str(path))
    assert {NONE_LABEL, UNCLASSED} <= set(model.classes)
    assert max(len(word.removeprefix("T:")) for word in model.words) <= 12
    assert not any(calibrate._CODE.search(word.lower()) for word in model.words)


def test_platt_recovers_the_curve_that_made_the_decisions() -> None:
    """Decisions drawn right with probability sigmoid(0.3·logit(p) + 0.7): the fit gives back 0.3 and 0.7."""
    rng = np.random.default_rng(0)
    raw = rng.uniform(0.05, 0.999, 20_000)
    truth = [calibrated(p, 0.3, 0.7) for p in raw]
    right = (rng.uniform(size=raw.size) < truth).astype(float)
    slope, intercept = calibrate.platt(raw, right)
    assert slope == pytest.approx(0.3, abs=0.05) and intercept == pytest.approx(0.7, abs=0.1)


def test_cross_fitting_never_decides_a_message_with_a_model_that_learned_it(
    plain: TextClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every class decision the curve is fitted to comes from a model learned without that message's fold."""
    rows = [
        realdata.Labelled(f"{i}-{n}", row.label, row.split, row.title, row.text + "，" + "晚上很黑" * 20)
        for n in range(3)
        for i, row in enumerate(REAL)
    ]
    real = [plain.features(row.full_text)[:2] for row in rows]
    syn = [plain.features(text)[:2] for _, text in SYNTHETIC]
    learned: list[set[int]] = []
    fit_features = calibrate.fit_features

    def spy(sources, syn, syn_labels, train, labels, fingerprint):  # type: ignore[no-untyped-def]
        learned.append({next(i for i, r in enumerate(real) if r is t) for t in train})
        return fit_features(sources, syn, syn_labels, train, labels, fingerprint)

    decided: list[set[int]] = []
    class_decisions = calibrate.class_decisions

    def spy_decisions(messages, fold, labels, lengths):  # type: ignore[no-untyped-def]
        decided.append({next(i for i, r in enumerate(real) if r is t) for t in fold})
        return class_decisions(messages, fold, labels, lengths)

    monkeypatch.setattr(calibrate, "fit_features", spy)
    monkeypatch.setattr(calibrate, "class_decisions", spy_decisions)
    x, y, folds = calibrate.cross_fitted_decisions(
        plain.model.classes, syn, [label for label, _ in SYNTHETIC], rows, real
    )
    assert len(learned) == len(decided) == calibrate.FOLDS
    for seen, judged in zip(learned, decided, strict=True):
        assert not seen & judged and seen | judged == set(range(len(rows)))
    assert len(x) == len(y) == len(folds) and set(y) <= {0.0, 1.0}
    assert {calibrate.fold_of(str(i)) for i in range(200)} == set(range(calibrate.FOLDS))  # by id, all folds used
