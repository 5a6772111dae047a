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
    model = MessageModel.from_document({"model": document, "calibration": {"x": [0.0, 1.0], "y": [0.0, 1.0]}})
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
    model = MessageModel.from_document({"model": document, "calibration": {"x": [0.0, 1.0], "y": [0.0, 1.0]}})
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
