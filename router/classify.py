"""Free text → taxonomy class, with a confidence: jieba words + character n-grams, a linear model, keywords.

The model is scikit-learn's TF-IDF and LinearSVC, trained on the repo's labelled corpus at start-up
(and cached on disk by content hash). Routing one report must take well under a millisecond here, so
prediction does not go through scikit-learn's per-call machinery: `LinearTextModel` keeps the fitted
vocabularies, IDF weights and coefficients as plain arrays and reproduces the same transform (a test
holds it equal to scikit-learn's). Decision scores become probabilities by a softmax with a fixed
temperature; keyword hits from the taxonomy then shift the probabilities toward the classes they name
(once per distinct word, and never when the model says the text is no city-management matter).

Real messages are long and wander (greetings, history, pleas); what they are about comes first, in the
title and the opening sentences, so only that head is classified (`head`). The synthetic corpus teaches
the classes but not what real out-of-scope prose looks like, and its softmax is no probability: a
`Calibration` learned from labelled real messages (tools/calibrate.py, committed as
data/classifier_calibration.json) adds a word-level in-scope model and maps the score of a class
decision to the probability that the class is right, so the district's threshold means what it says.
A manhole cover whose owner the text does not name goes to the dispatchers (`COVER_WORDS`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jieba
import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from shared.taxonomy import Taxonomy

jieba.setLogLevel(logging.WARNING)
log = logging.getLogger(__name__)

NONE_LABEL = "none"
"""The training label of text that is no city-management matter (the dispatchers forward it)."""
CHAR_NGRAMS = (2, 3)
SVC_C = 1.0
TEMPERATURE = 8.0
"""Softmax temperature over SVM margins, chosen on the training corpus (see tools/eval.py)."""
KEYWORD_WEIGHT = 0.5
SCOPE_MIN = 0.1
"""Below this probability of being a city-management matter at all, a text is out of scope."""
HEAD_CHARS = 120
"""Characters of a long text that are classified: a title and an opening sentence or two."""
COVER_WORDS = ("井盖", "窨井", "检查井")
"""A cover named only like this, with no owner word (`cover_owner_words`), goes to the dispatchers: which of
the 14 cover classes it is, nobody can tell from the text."""
_WHITESPACE = re.compile(r"\s\s+")
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")


def head(text: str, limit: int = HEAD_CHARS) -> str:
    """The opening of `text` up to `limit` characters, cut after a sentence if one ends in its second half."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(cut)]
    return cut[: ends[-1]] if ends and ends[-1] >= limit // 2 else cut


@dataclass(frozen=True)
class Classification:
    category_id: str | None
    confidence: float
    method: str
    candidates: tuple[tuple[str, float], ...] = ()
    keywords: tuple[str, ...] = ()

    def explain(self) -> str:
        kw = f", keywords {'/'.join(self.keywords)}" if self.keywords else ""
        return f"{self.method}: {self.category_id} ({self.confidence:.2f}{kw})"


class Segmenter:
    """jieba with the taxonomy's keywords in its dictionary, so '上水井盖' stays one word."""

    def __init__(self, words: Iterable[str] = ()) -> None:
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        for word in words:
            self._jieba.add_word(word, freq=2000)

    def __call__(self, text: str) -> list[str]:
        return [t for t in self._jieba.lcut(text.lower()) if not t.isspace()]


def char_ngrams(text: str) -> list[str]:
    """The same n-grams as scikit-learn's `analyzer="char"` (lower-cased, whitespace collapsed)."""
    text = _WHITESPACE.sub(" ", text.lower())
    return [text[i : i + n] for n in range(CHAR_NGRAMS[0], CHAR_NGRAMS[1] + 1) for i in range(len(text) - n + 1)]


class LinearTextModel:
    """A fitted TF-IDF + linear model as plain arrays; `scores(text)` is its decision function."""

    def __init__(
        self,
        classes: Sequence[str],
        word_vocab: Sequence[str],
        word_idf: np.ndarray,
        char_vocab: Sequence[str],
        char_idf: np.ndarray,
        weights: np.ndarray,
        intercept: np.ndarray,
        segmenter: Segmenter,
    ) -> None:
        self.classes = list(classes)
        self._words = {w: i for i, w in enumerate(word_vocab)}
        self._chars = {c: i for i, c in enumerate(char_vocab)}
        self._word_idf = word_idf
        self._char_idf = char_idf
        self._n_words = len(word_vocab)
        self.weights = weights  # (n_features, n_classes)
        self.intercept = intercept
        self.segmenter = segmenter

    @classmethod
    def fit(cls, rows: Sequence[tuple[str, str]], segmenter: Segmenter) -> LinearTextModel:
        texts = [text for _, text in rows]
        labels = [label for label, _ in rows]
        words = TfidfVectorizer(analyzer=segmenter, sublinear_tf=True)
        chars = TfidfVectorizer(analyzer="char", ngram_range=CHAR_NGRAMS, sublinear_tf=True, min_df=2)
        features = sp.hstack([words.fit_transform(texts), chars.fit_transform(texts)]).tocsr()
        svm = LinearSVC(C=SVC_C).fit(features, labels)
        return cls(
            classes=[str(c) for c in svm.classes_],
            word_vocab=words.get_feature_names_out().tolist(),
            word_idf=words.idf_,
            char_vocab=chars.get_feature_names_out().tolist(),
            char_idf=chars.idf_,
            weights=np.ascontiguousarray(svm.coef_.T, dtype=np.float32),
            intercept=svm.intercept_,
            segmenter=segmenter,
        )

    def features(self, text: str, words: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Column indices and TF-IDF values (sublinear tf, each block L2-normalised) of one text."""
        cols: list[int] = []
        vals: list[float] = []
        for vocab, idf, offset, items in (
            (self._words, self._word_idf, 0, self.segmenter(text) if words is None else words),
            (self._chars, self._char_idf, self._n_words, char_ngrams(text)),
        ):
            block_cols, block_vals = [], []
            for term, count in Counter(items).items():
                index = vocab.get(term)
                if index is not None:
                    block_cols.append(index + offset)
                    block_vals.append((1.0 + math.log(count)) * idf[index])
            norm = math.sqrt(sum(v * v for v in block_vals)) or 1.0
            cols.extend(block_cols)
            vals.extend(v / norm for v in block_vals)
        return np.asarray(cols, dtype=np.intp), np.asarray(vals)

    def scores(self, text: str, words: Sequence[str] | None = None) -> np.ndarray:
        cols, vals = self.features(text, words)
        return vals @ self.weights[cols] + self.intercept if len(cols) else self.intercept.copy()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(
            tmp,
            classes=np.array(self.classes),
            word_vocab=np.array(list(self._words)),
            word_idf=self._word_idf,
            char_vocab=np.array(list(self._chars)),
            char_idf=self._char_idf,
            weights=self.weights,
            intercept=self.intercept,
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, segmenter: Segmenter) -> LinearTextModel:
        with np.load(path, allow_pickle=False) as data:
            return cls(
                classes=data["classes"].tolist(),
                word_vocab=data["word_vocab"].tolist(),
                word_idf=data["word_idf"],
                char_vocab=data["char_vocab"].tolist(),
                char_idf=data["char_idf"],
                weights=data["weights"],
                intercept=data["intercept"],
                segmenter=segmenter,
            )


class KeywordMatcher:
    """Finds the taxonomy's keywords in a text; a longer keyword hides the shorter ones inside it."""

    def __init__(self, keywords: Mapping[str, Iterable[str]]) -> None:
        self._owner: dict[str, str] = {}
        for category_id, words in keywords.items():
            for word in words:
                self._owner.setdefault(word.lower(), category_id)
        alternatives = sorted(self._owner, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, alternatives))) if alternatives else None

    def match(self, text: str) -> dict[str, list[str]]:
        hits: dict[str, list[str]] = {}
        if self._pattern is not None:
            for m in self._pattern.finditer(text.lower()):
                hits.setdefault(self._owner[m.group()], []).append(m.group())
        return hits


@dataclass(frozen=True)
class Calibration:
    """What labelled real messages taught: which words mark a city-management matter, and what a score means.

    `scope_words`/`scope_bias`: a logistic model over the distinct words of a text's head, P(the text is a
    matter of some taxonomy class). `points`: a monotone map from a class decision's raw score (its
    probability times P(in scope)) to the probability that the class is right, as (x, y) knots.
    """

    scope_words: Mapping[str, float]
    scope_bias: float
    points: tuple[tuple[float, ...], tuple[float, ...]]

    @classmethod
    def load(cls, path: Path) -> Calibration:
        data = json.loads(path.read_text(encoding="utf-8"))
        xs, ys = (tuple(float(v) for v in data["calibration"][k]) for k in ("x", "y"))
        if len(xs) != len(ys) or not xs or list(xs) != sorted(xs) or list(ys) != sorted(ys):
            raise ValueError(f"{path}: calibration knots must be two non-empty ascending lists of equal length")
        scope = data["scope"]
        return cls({str(w): float(v) for w, v in scope["words"].items()}, float(scope["bias"]), (xs, ys))

    def in_scope(self, words: Iterable[str]) -> float:
        z = self.scope_bias + sum(self.scope_words.get(w, 0.0) for w in set(words))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def confidence(self, raw: float) -> float:
        return float(np.interp(raw, self.points[0], self.points[1]))


class TextClassifier:
    def __init__(
        self,
        model: LinearTextModel,
        matcher: KeywordMatcher,
        temperature: float = TEMPERATURE,
        keyword_weight: float = KEYWORD_WEIGHT,
        calibration: Calibration | None = None,
        cover_owners: Iterable[str] = (),
    ) -> None:
        self.model = model
        self.matcher = matcher
        self.temperature = temperature
        self.keyword_weight = keyword_weight
        self.calibration = calibration
        self.cover_owners = tuple(cover_owners)
        self._index = {c: i for i, c in enumerate(model.classes)}
        self._none = self._index.get(NONE_LABEL)

    @classmethod
    def build(
        cls,
        taxonomy: Taxonomy,
        rows: Sequence[tuple[str, str]],
        cache_dir: Path | None = None,
        calibration_path: Path | None = None,
    ) -> TextClassifier:
        """Train on `rows` (label, text), or load the model cached for exactly this corpus and taxonomy."""
        segmenter = Segmenter(word for c in taxonomy for word in c.keywords)
        matcher = KeywordMatcher({c.id: c.keywords for c in taxonomy})
        calibration = Calibration.load(calibration_path) if calibration_path is not None else None
        covers = cover_owner_words(taxonomy)
        cached = cache_dir / f"classifier-{_fingerprint(taxonomy, rows)}.npz" if cache_dir else None
        if cached is not None and cached.exists():
            try:
                return cls(
                    LinearTextModel.load(cached, segmenter), matcher, calibration=calibration, cover_owners=covers
                )
            except (OSError, ValueError, KeyError) as exc:
                log.warning("ignoring unreadable classifier cache %s: %s", cached, exc)
        model = LinearTextModel.fit(rows, segmenter)
        if cached is not None:
            try:
                model.save(cached)
            except OSError as exc:
                log.warning("cannot cache the classifier in %s: %s", cached, exc)
        return cls(model, matcher, calibration=calibration, cover_owners=covers)

    def _softmax(self, scores: np.ndarray) -> np.ndarray:
        scores = scores * self.temperature
        exp = np.exp(scores - scores.max())
        probabilities: np.ndarray = exp / exp.sum()
        return probabilities

    def probabilities(self, text: str) -> np.ndarray:
        """The model's probabilities for the head of `text`, before keywords."""
        return self._softmax(self.model.scores(head(text)))

    def analyse(self, text: str) -> tuple[np.ndarray, dict[str, list[str]], list[str]]:
        """Probability per class (in `model.classes` order) after keyword hits, the hits, and the head's words."""
        text = head(text)
        words = self.model.segmenter(text)
        probs = self._softmax(self.model.scores(text, words))
        hits = self.matcher.match(text)
        if hits and int(np.argmax(probs)) != self._none:
            boost = np.zeros_like(probs)
            distinct = {category_id: len(set(found)) for category_id, found in hits.items()}
            total = sum(distinct.values())
            for category_id, count in distinct.items():
                if category_id in self._index:
                    boost[self._index[category_id]] = count / total
            probs = (probs + self.keyword_weight * boost) / (1.0 + self.keyword_weight * boost.sum())
        return probs, hits, words

    def distribution(self, text: str) -> tuple[np.ndarray, dict[str, list[str]]]:
        probs, hits, _ = self.analyse(text)
        return probs, hits

    def classify(self, text: str, top: int = 3, among: Sequence[str] | None = None) -> Classification:
        """The most likely class, optionally only among `among` (ids), renormalised over them.

        Without `among`, the confidence of a class is calibrated (when a `Calibration` is loaded): the
        probability that the class is right. With `among` the channel has already said what the report
        is about, so the score is the model's share among those classes.
        """
        probs, hits, words = self.analyse(text)
        method = "keywords+model" if hits else "model"
        if among is not None:
            mask = np.zeros_like(probs)
            for category_id in among:
                if category_id in self._index:
                    mask[self._index[category_id]] = 1.0
            probs = probs * mask
            probs = probs / probs.sum() if probs.sum() > 0 else mask / max(mask.sum(), 1.0)
        k = min(top + 1, len(probs))  # one more than asked: the out-of-scope label may be among the best
        best_k = np.argpartition(probs, -k)[-k:]
        order = best_k[np.argsort(probs[best_k])[::-1]]
        ranked = [(self.model.classes[i], round(float(probs[i]), 4)) for i in order if probs[i] > 0]
        candidates = tuple((c, p) for c, p in ranked if c != NONE_LABEL)[:top]
        if not ranked:
            return Classification(None, 0.0, method)
        best, confidence = ranked[0]
        scope = None
        if among is None and self.calibration is not None:
            # Whether the text is a city-management matter at all is the scope model's call (it learned
            # real out-of-scope prose); which class it is, the model's among the classes.
            scope = self.calibration.in_scope(words)
            if scope < SCOPE_MIN:
                return Classification(
                    None, round(1.0 - scope, 4), f"model: no city-management matter (in scope {scope:.2f})", candidates
                )
        if best == NONE_LABEL:
            return Classification(None, confidence, "model: no city-management matter", candidates)
        if self.cover_owners and any(w in text for w in COVER_WORDS) and not any(w in text for w in self.cover_owners):
            return Classification(
                None, 0.0, "a manhole cover whose owner the text does not name: the dispatchers decide", candidates
            )
        if scope is not None and self.calibration is not None:
            confidence = round(self.calibration.confidence(confidence * scope), 4)
            method = f"{method}, in scope {scope:.2f}, calibrated"
        return Classification(best, confidence, method, candidates, tuple(dict.fromkeys(hits.get(best, ()))))


def cover_owner_words(taxonomy: Taxonomy) -> list[str]:
    """Words that name whose a manhole cover is: the cover classes' names and keywords without 井盖.

    '移动' (China Mobile) is left out: in '井盖移动了' it means the cover moved.
    """
    words: set[str] = set()
    for c in taxonomy:
        if c.name.endswith("井盖"):
            words.update(w.replace("井盖", "").replace("的", "") for w in (c.name, *c.keywords))
    return sorted(w for w in words if len(w) >= 2 and w != "移动")


def read_tsv(path: Path) -> list[tuple[str, str]]:
    """(label, text) rows of a training file: one `label<TAB>text` per line."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        label, text = line.split("\t", 1)
        rows.append((label, text))
    return rows


def _fingerprint(taxonomy: Taxonomy, rows: Sequence[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for part in (sklearn.__version__, jieba.__version__, str((CHAR_NGRAMS, SVC_C))):
        digest.update(part.encode())
    for c in taxonomy:
        digest.update(f"{c.id}:{','.join(c.keywords)}\n".encode())
    for label, text in rows:
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()[:16]
