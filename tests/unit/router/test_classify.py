"""The text classifier: its hand-rolled transform equals scikit-learn's, keywords, corpus, held-out score."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score

from router.classify import (
    CHAR_NGRAMS,
    HEAD_CHARS,
    NONE_LABEL,
    SHORT_REPORT_CHARS,
    UNCLASSED,
    KeywordMatcher,
    LinearTextModel,
    MessageModel,
    Segmenter,
    TextClassifier,
    cover_owner_words,
    head,
    read_tsv,
    title_of,
)
from router.reference import ReferenceData
from shared.taxonomy import Taxonomy
from tools.corpus import HELDOUT, TRAIN, generate, render_tsv


@pytest.fixture(scope="module")
def classifier(ref: ReferenceData) -> TextClassifier:
    return ref.categorizer.classifier


def test_committed_corpus_is_what_the_generator_writes() -> None:
    assert TRAIN.read_text(encoding="utf-8") == render_tsv(generate("train"))
    assert HELDOUT.read_text(encoding="utf-8") == render_tsv(generate("heldout"))


def test_heldout_sentences_are_not_training_sentences() -> None:
    train = {text for _, text in read_tsv(TRAIN)}
    heldout = read_tsv(HELDOUT)
    assert not train & {text for _, text in heldout}
    labels = {label for label, _ in heldout}
    assert labels == {c.id for c in Taxonomy.load()} | {NONE_LABEL}


def test_fast_transform_equals_scikit_learn() -> None:
    rows = read_tsv(TRAIN)[::7]
    segmenter = Segmenter(["上水井盖", "雨水箅子"])
    model = LinearTextModel.fit(rows, segmenter)
    texts = [t for _, t in rows[:50]] + ["完全 没见过的  句子 ABC", ""]
    words = TfidfVectorizer(analyzer=segmenter, sublinear_tf=True).fit([t for _, t in rows])
    chars = TfidfVectorizer(analyzer="char", ngram_range=CHAR_NGRAMS, sublinear_tf=True, min_df=2).fit(
        [t for _, t in rows]
    )
    expected = sp.hstack([words.transform(texts), chars.transform(texts)]).toarray()
    for row, text in zip(expected, texts, strict=True):
        cols, vals = model.features(text)
        got = np.zeros_like(row)
        got[cols] = vals
        np.testing.assert_allclose(got, row, atol=1e-12)


def test_longest_keyword_wins() -> None:
    matcher = KeywordMatcher({"C0118": ["路灯"], "C0106": ["路灯井盖"]})
    assert matcher.match("东四路灯井盖丢了") == {"C0106": ["路灯井盖"]}
    assert matcher.match("路灯不亮，路灯井盖也丢了") == {"C0118": ["路灯"], "C0106": ["路灯井盖"]}


def test_classifies_plain_reports(classifier: TextClassifier) -> None:
    assert classifier.classify("小区门口的上水井盖丢了").category_id == "C0101"
    assert classifier.classify("楼下有人私搭乱建彩钢房").category_id == "I0101"
    outside = classifier.classify("我想咨询一下公积金提取的政策")
    assert outside.category_id is None and "no city-management matter" in outside.method


def test_choice_among_a_set_stays_in_the_set(classifier: TextClassifier) -> None:
    c = classifier.classify("路灯不亮了", among=["C0101", "C0102"])
    assert c.category_id in ("C0101", "C0102")
    assert all(code in ("C0101", "C0102") for code, _ in c.candidates)
    assert abs(sum(p for _, p in c.candidates) - 1.0) < 1e-3


def test_heldout_macro_f1_stays_above_floor(classifier: TextClassifier) -> None:
    """`python -m router.eval` prints the full report; this only guards against a silent regression."""
    heldout = read_tsv(HELDOUT)
    predicted = [classifier.classify(text).category_id or NONE_LABEL for _, text in heldout]
    assert f1_score([label for label, _ in heldout], predicted, average="macro") >= 0.88


# -- real prose: head, keywords, calibration, manhole covers ------------------------------------------------------

TINY_ROWS = [
    ("C0118", "路灯 不亮 晚上 很黑"),
    ("C0118", "路灯 坏了 没有 照明"),
    ("I0101", "私搭乱建 彩钢房 违章"),
    ("I0101", "乱建 房子 违章 搭建"),
    (NONE_LABEL, "咨询 公积金 政策 办理"),
    (NONE_LABEL, "咨询 社保 政策 手续"),
]


def tiny(keywords: dict[str, list[str]], messages: MessageModel | None = None) -> TextClassifier:
    model = LinearTextModel.fit(TINY_ROWS, Segmenter())
    return TextClassifier(model, KeywordMatcher(keywords), messages=messages)


def test_head_of_a_long_text_is_its_opening() -> None:
    opening = "小区门口路灯坏了一个月，晚上很黑。"
    text = opening + "我们多次打电话反映，一直没有人来修，" * 30
    assert len(head(text)) <= HEAD_CHARS and head(text).startswith(opening)
    assert head(opening) == opening
    sentences = "第一句话说的是正事，后面都是背景。" * 10
    assert head(sentences).endswith("。")


def test_keyword_counts_once_per_distinct_word() -> None:
    classifier = tiny({"C0118": ["路灯"], "I0101": ["违章"]})
    text = "路灯 路灯 路灯 违章 很黑"
    before = classifier.probabilities(text)
    after, hits, _ = classifier.analyse(text)
    w = classifier.keyword_weight
    boost = (after * (1 + w) - before) / w  # what each class was boosted by
    lamp, building = (classifier.model.classes.index(c) for c in ("C0118", "I0101"))
    assert hits["C0118"] == ["路灯", "路灯", "路灯"]
    assert boost[lamp] == pytest.approx(0.5) and boost[building] == pytest.approx(0.5)


def test_keywords_never_override_no_city_management_matter() -> None:
    classifier = tiny({"I0101": ["违建"]})  # 违建 is in no training sentence: the model does not see it
    text = "咨询 公积金 政策 办理 违建"
    probs, hits, _ = classifier.analyse(text)
    assert hits == {"I0101": ["违建"]}
    np.testing.assert_allclose(probs, classifier.probabilities(text))
    assert classifier.classify(text).category_id is None


def tiny_document(curve: tuple[list[float], list[float]] = ([0.0, 0.5, 1.0], [0.0, 0.2, 0.9])) -> dict[str, object]:
    """A message model by hand: 路灯 means C0118, 咨询 out of scope, 电梯 a matter without a class."""
    return {
        "model": {
            "classes": ["C0118", "I0101", NONE_LABEL, UNCLASSED],
            "bias": [0.0, 0.0, 0.5, 0.0],
            "synthetic": {"C0118": {"C0118": 1.0}, "I0101": {"I0101": 1.0}},
            "words": {
                "路灯": {"C0118": 3.0},
                "T:路灯": {"C0118": 1.0},
                "咨询": {NONE_LABEL: 6.0},
                "电梯": {UNCLASSED: 6.0},
            },
        },
        "calibration": {"x": curve[0], "y": curve[1]},
    }


LONG_TAIL = "，" + "我们多次打电话反映，一直没有人来修" * 3  # past SHORT_REPORT_CHARS: message prose


def test_message_model_decides_class_none_or_unclassed() -> None:
    messages = MessageModel.from_document(tiny_document())
    classifier = tiny({}, messages)
    text = "路灯 不亮 晚上 很黑" + LONG_TAIL
    features, synthetic, _ = classifier.features(text)
    assert "路灯" in features and "T:路灯" in features  # the title's words count again
    raw = float(messages.probabilities(features, synthetic).max())
    got = classifier.classify(text)
    assert got.category_id == "C0118"
    assert got.confidence == pytest.approx(float(np.interp(raw, [0.0, 0.5, 1.0], [0.0, 0.2, 0.9])), abs=1e-4)
    assert "calibrated" in got.method and "路灯" in got.method  # the reason names the words that decided
    noisy = tiny_document()
    noisy["model"]["words"] |= {"。": {"C0118": 9.0}, "了": {"C0118": 9.0}}  # type: ignore[index]
    shown = MessageModel.from_document(noisy).evidence(["路灯", "T:路灯", "。", "了"], "C0118")
    assert shown == ("路灯", "T:路灯")  # punctuation and one-character particles explain nothing
    short = classifier.classify("路灯 不亮 晚上 很黑")
    short_raw = float(messages.probabilities(*classifier.features("路灯 不亮 晚上 很黑")[:2]).max())
    assert short.category_id == "C0118" and short.confidence == pytest.approx(short_raw, abs=1e-4)
    outside = classifier.classify("咨询 路灯 政策" + LONG_TAIL)
    assert outside.category_id is None and "no city-management matter" in outside.method
    lift = classifier.classify("电梯 坏了 路灯" + LONG_TAIL)
    assert lift.category_id is None and "no class" in lift.method
    # A channel that named the category still chooses among its classes with the synthetic model.
    assert classifier.classify("电梯 坏了", among=["C0118", "I0101"]).category_id in ("C0118", "I0101")


def test_message_model_rejects_a_broken_document() -> None:
    bad_curve = tiny_document(([0.0, 1.0], [0.9, 0.1]))
    with pytest.raises(ValueError, match="ascending"):
        MessageModel.from_document(bad_curve)
    for slope, intercept in ((0.0, 0.0), (-0.3, 0.7), (math.nan, 0.0), (0.3, math.inf)):
        with pytest.raises(ValueError, match="positive slope"):  # a falling curve would turn the threshold around
            MessageModel.from_document(logistic_document(slope, intercept))
    unknown = tiny_document()
    unknown["model"]["words"]["路灯"] = {"C9999": 1.0}  # type: ignore[index]
    with pytest.raises(ValueError, match="unknown class"):
        MessageModel.from_document(unknown)
    short_bias = tiny_document()
    short_bias["model"]["bias"] = [0.0]  # type: ignore[index]
    with pytest.raises(ValueError, match="biases"):
        MessageModel.from_document(short_bias)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=2, max_size=8), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_calibrated_confidence_is_monotone_and_short_reports_keep_theirs(ys: list[float], a: float, b: float) -> None:
    xs = [i / (len(ys) - 1) for i in range(len(ys))]
    messages = MessageModel.from_document(tiny_document((xs, sorted(ys))))
    lo, hi = sorted((a, b))
    long = SHORT_REPORT_CHARS + 1
    assert messages.confidence(lo, long) <= messages.confidence(hi, long) + 1e-12
    assert min(ys) - 1e-12 <= messages.confidence(hi, long) <= max(ys) + 1e-12
    assert messages.confidence(a, SHORT_REPORT_CHARS) == a


def logistic_document(slope: float, intercept: float) -> dict[str, object]:
    """`tiny_document` with a logistic calibration (Platt scaling) instead of the isotonic knots."""
    return tiny_document() | {"calibration": {"slope": slope, "intercept": intercept}}


def test_logistic_calibration_decides_like_the_knots_and_maps_through_the_logit() -> None:
    messages = MessageModel.from_document(logistic_document(0.5, -0.2))
    classifier = tiny({}, messages)
    text = "路灯 不亮 晚上 很黑" + LONG_TAIL
    raw = float(messages.probabilities(*classifier.features(text)[:2]).max())
    got = classifier.classify(text)
    assert got.category_id == "C0118" and "calibrated" in got.method
    assert got.confidence == pytest.approx(1 / (1 + math.exp(-(0.5 * math.log(raw / (1 - raw)) - 0.2))), abs=1e-4)
    short = classifier.classify("路灯 不亮 晚上 很黑")
    assert short.confidence == pytest.approx(
        float(messages.probabilities(*classifier.features("路灯 不亮 晚上 很黑")[:2]).max()), abs=1e-4
    )


@settings(max_examples=300, deadline=None)
@given(st.floats(0.01, 5.0), st.floats(-5.0, 5.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_logistic_confidence_is_monotone_bounded_and_short_reports_keep_theirs(
    slope: float, intercept: float, a: float, b: float
) -> None:
    messages = MessageModel.from_document(logistic_document(slope, intercept))
    lo, hi = sorted((a, b))
    long = SHORT_REPORT_CHARS + 1
    assert messages.confidence(lo, long) <= messages.confidence(hi, long) + 1e-12
    assert messages.confidence(lo, long) >= 0.0 and messages.confidence(hi, long) <= 1.0  # finite at 0 and 1 too
    assert messages.confidence(a, SHORT_REPORT_CHARS) == a
    # At raw 0.5 the logit is 0: the curve gives sigmoid(intercept), whatever the slope.
    assert messages.confidence(0.5, long) == pytest.approx(1 / (1 + math.exp(-intercept)))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("路灯坏了，。！？;\n ab1")), max_size=400))
def test_title_is_the_first_sentence_of_the_head(text: str) -> None:
    opening = head(text)
    title = title_of(text)
    assert text.startswith(opening) and len(opening) <= HEAD_CHARS
    assert opening.startswith(title) and not any(end in title for end in "。！？!?；;\n")
    if len(text) <= HEAD_CHARS:
        assert opening == text


@pytest.mark.parametrize("text", ["井盖丢了", "井盖破损，行人容易踩空", "路口的窨井盖子不见了"])
def test_cover_without_an_owner_goes_to_the_dispatchers(classifier: TextClassifier, text: str) -> None:
    for among in (None, ["C0101", "C0102", "C0103", "C0104", "C0113"]):
        got = classifier.classify(text, among=among)
        assert got.category_id is None and "owner" in got.method, (text, among, got)


def test_cover_with_an_owner_word_is_classified(classifier: TextClassifier) -> None:
    assert classifier.classify("自来水公司的井盖破损了").category_id == "C0101"
    assert classifier.classify("小区门口的雨水井盖丢了").category_id == "C0103"
    assert "路灯" in cover_owner_words(Taxonomy.load()) and "移动" not in cover_owner_words(Taxonomy.load())
