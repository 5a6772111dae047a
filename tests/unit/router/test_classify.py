"""The text classifier: its hand-rolled transform equals scikit-learn's, keywords, corpus, held-out score."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score

from router.classify import (
    CHAR_NGRAMS,
    NONE_LABEL,
    KeywordMatcher,
    LinearTextModel,
    Segmenter,
    TextClassifier,
    read_tsv,
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
        [t for _, t in rows])
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
    assert outside.category_id is None and outside.method.startswith("model: no city-management")


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
