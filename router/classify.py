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
the classes in generated sentences but not real prose, and its softmax is no probability. So a
`MessageModel` learned from labelled real messages (tools/calibrate.py, committed as
data/classifier_calibration.json: words and weights, no text) reads the head's words, the title's words
and the synthetic model's probabilities, says whether the text is a class, out of scope (`none`) or a
matter without a class (`unclassed`), and maps the probability of its class to the probability that the
class is right, so the district's threshold means what it says. Every decision names its reason (method)
and the words that weighed most. A manhole cover whose owner the text does not name goes to the
dispatchers (`COVER_WORDS`).
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
UNCLASSED = "unclassed"
"""The label of a city-management matter the taxonomy has no class for yet: the dispatchers' queue."""
OUT_OF_CLASS = (NONE_LABEL, UNCLASSED)
CHAR_NGRAMS = (2, 3)
SVC_C = 1.0
SVC_SEED = 0
"""liblinear shuffles: a fixed seed makes the synthetic model, and so the stacked message model, reproducible."""
TEMPERATURE = 8.0
"""Softmax temperature over SVM margins, chosen on the training corpus (see tools/eval.py)."""
KEYWORD_WEIGHT = 0.5
SHORT_REPORT_CHARS = 50
"""A text this short is a one-line report (inspector, hotline summary, Open311 description), not message-board
prose: the calibration curve, fitted on real messages, does not describe it, and it keeps the model's own
probability (on the synthetic held-out set an under-estimate: see `make eval`)."""
_LOGIT_CLIP = 1e-6
"""Raw probabilities are clipped to [1e-6, 1 - 1e-6] before their logit: a probability of 1 stays finite."""
HEAD_CHARS = 120
"""Characters of a long text that are classified: a title and an opening sentence or two."""
COVER_WORDS = ("井盖", "窨井", "检查井")
"""A cover named only like this, with no owner word (`cover_owner_words`), goes to the dispatchers: which of
the 14 cover classes it is, nobody can tell from the text."""
COVER_REASON = "a manhole cover whose owner the text does not name: the dispatchers decide"
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
        svm = LinearSVC(C=SVC_C, random_state=SVC_SEED).fit(features, labels)
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


def title_of(text: str) -> str:
    """The first sentence of a text's head: a message board's title, or what a short report says first."""
    opening = head(text)
    m = _SENTENCE_END.search(opening)
    return opening[: m.start()] if m else opening


@dataclass(frozen=True)
class MessageModel:
    """What labelled real messages taught: a linear model over what the classifier sees of a message.

    Features: the distinct words of the head, the distinct words of the title again (prefixed `T:`: the
    title says what a message is about), and the synthetic model's probabilities (after keywords). The
    outputs are the taxonomy classes plus `none` and `unclassed` (city management without a class), so the
    model itself says when a text is out of scope or has no class. `points` maps the probability of the
    class it picks to the probability that the class is right (isotonic, fitted on the calibration split),
    so the district's threshold means what it says; a document may instead give a logistic curve
    (`logistic`: Platt scaling, `tools.calibrate --curve logistic`). Learned by tools/calibrate.py; committed
    as data/classifier_calibration.json: words and weights, no message text.
    """

    classes: tuple[str, ...]
    bias: np.ndarray
    words: Mapping[str, np.ndarray]
    synthetic_classes: tuple[str, ...]
    synthetic: np.ndarray
    """(synthetic model's classes, classes): weights on the synthetic model's probabilities."""
    points: tuple[tuple[float, ...], tuple[float, ...]]
    """Knots of the isotonic curve from the raw probability to P(the class is right) (unused with `logistic`)."""
    trained_with: str = ""
    """Fingerprint of the synthetic model it was stacked on (a mismatch is logged at start-up)."""
    logistic: tuple[float, float] | None = None
    """(slope, intercept): P(right) = 1 / (1 + exp(-(slope · logit(raw) + intercept))), instead of `points`."""

    @classmethod
    def from_document(cls, data: Mapping[str, object], source: str = "document") -> MessageModel:
        model = data["model"]
        curve = data["calibration"]
        assert isinstance(model, dict) and isinstance(curve, dict)
        logistic: tuple[float, float] | None = None
        xs: tuple[float, ...] = (0.0, 1.0)
        ys: tuple[float, ...] = (0.0, 1.0)
        if "slope" in curve:
            slope, intercept = float(curve["slope"]), float(curve["intercept"])
            if not (math.isfinite(slope) and math.isfinite(intercept) and slope > 0):
                raise ValueError(f"{source}: a logistic calibration needs a finite positive slope and intercept")
            logistic = (slope, intercept)
        else:
            xs, ys = (tuple(float(v) for v in curve[k]) for k in ("x", "y"))
            if len(xs) != len(ys) or not xs or list(xs) != sorted(xs) or list(ys) != sorted(ys):
                raise ValueError(f"{source}: calibration knots must be two non-empty ascending lists of equal length")
        classes = tuple(str(c) for c in model["classes"])
        index = {c: i for i, c in enumerate(classes)}

        def rows(sparse: Mapping[str, Mapping[str, float]]) -> dict[str, np.ndarray]:
            out = {}
            for key, weights in sparse.items():
                row = np.zeros(len(classes))
                for category_id, weight in weights.items():
                    if category_id not in index:
                        raise ValueError(f"{source}: {key!r} has a weight for an unknown class {category_id!r}")
                    row[index[category_id]] = float(weight)
                out[str(key)] = row
            return out

        words = rows(model["words"])
        by_synthetic = rows(model["synthetic"])
        synthetic_classes = tuple(by_synthetic)
        synthetic = np.array([by_synthetic[c] for c in synthetic_classes]).reshape(len(synthetic_classes), len(classes))
        bias = np.asarray(model["bias"], dtype=float)
        if bias.shape != (len(classes),):
            raise ValueError(f"{source}: {len(bias)} biases for {len(classes)} classes")
        trained_with = str(model.get("trained_with", ""))
        return cls(classes, bias, words, synthetic_classes, synthetic, (xs, ys), trained_with, logistic)

    @classmethod
    def load(cls, path: Path) -> MessageModel:
        return cls.from_document(json.loads(path.read_text(encoding="utf-8")), str(path))

    def probabilities(self, features: Iterable[str], synthetic: np.ndarray) -> np.ndarray:
        """P(class) over `classes` for a text's features and the synthetic model's probabilities."""
        z = self.bias + synthetic @ self.synthetic
        for feature in set(features):
            row = self.words.get(feature)
            if row is not None:
                z = z + row
        exp = np.exp(z - z.max())
        probabilities: np.ndarray = exp / exp.sum()
        return probabilities

    def evidence(self, features: Iterable[str], category_id: str, top: int = 3) -> tuple[str, ...]:
        """The features that pushed hardest toward `category_id`: the explanation a dispatcher reads."""
        i = self.classes.index(category_id)
        words = {f for f in set(features) if f in self.words and _is_word(f.removeprefix("T:"))}
        scored = sorted(((self.words[f][i], f) for f in words), reverse=True)
        return tuple(f for w, f in scored[:top] if w > 0)

    def confidence(self, raw: float, length: int) -> float:
        """P(the class is right): the calibration curve for message prose, the model's own for a short report."""
        if length <= SHORT_REPORT_CHARS:
            return raw
        if self.logistic is not None:
            return calibrated(raw, *self.logistic)
        return float(np.interp(raw, self.points[0], self.points[1]))


def logit(p: float) -> float:
    p = min(max(p, _LOGIT_CLIP), 1.0 - _LOGIT_CLIP)
    return math.log(p / (1.0 - p))


def calibrated(raw: float, slope: float, intercept: float) -> float:
    """The logistic calibration map: 1 / (1 + exp(-(slope · logit(raw) + intercept))), increasing in `raw`."""
    z = slope * logit(raw) + intercept
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def _is_word(token: str) -> bool:
    """A token a dispatcher can read as a reason: two characters or more, letters or digits (no punctuation)."""
    return len(token) >= 2 and token.isalnum()


def message_features(words: Sequence[str], title_words: Sequence[str]) -> list[str]:
    """The word features of `MessageModel`: head words, and title words again under `T:`."""
    return [*words, *(f"T:{w}" for w in title_words)]


class TextClassifier:
    def __init__(
        self,
        model: LinearTextModel,
        matcher: KeywordMatcher,
        temperature: float = TEMPERATURE,
        keyword_weight: float = KEYWORD_WEIGHT,
        messages: MessageModel | None = None,
        cover_owners: Iterable[str] = (),
    ) -> None:
        self.model = model
        self.matcher = matcher
        self.temperature = temperature
        self.keyword_weight = keyword_weight
        self.messages = messages
        self.cover_owners = tuple(cover_owners)
        self._index = {c: i for i, c in enumerate(model.classes)}
        self._none = self._index.get(NONE_LABEL)
        self._stack: np.ndarray | None = None
        if messages is not None:
            # The synthetic model's probabilities in the order the message model was trained on.
            self._stack = np.array([self._index.get(c, -1) for c in messages.synthetic_classes])

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
        messages = MessageModel.load(calibration_path) if calibration_path is not None else None
        covers = cover_owner_words(taxonomy)
        fingerprint = synthetic_fingerprint(taxonomy, rows)
        if messages is not None and messages.trained_with and messages.trained_with != fingerprint:
            log.warning(
                "the message model %s was stacked on another synthetic model (%s, now %s): run tools.calibrate",
                calibration_path,
                messages.trained_with,
                fingerprint,
            )
        cached = cache_dir / f"classifier-{fingerprint}.npz" if cache_dir else None
        if cached is not None and cached.exists():
            try:
                return cls(LinearTextModel.load(cached, segmenter), matcher, messages=messages, cover_owners=covers)
            except (OSError, ValueError, KeyError) as exc:
                log.warning("ignoring unreadable classifier cache %s: %s", cached, exc)
        model = LinearTextModel.fit(rows, segmenter)
        if cached is not None:
            try:
                model.save(cached)
            except OSError as exc:
                log.warning("cannot cache the classifier in %s: %s", cached, exc)
        return cls(model, matcher, messages=messages, cover_owners=covers)

    def _softmax(self, scores: np.ndarray) -> np.ndarray:
        scores = scores * self.temperature
        exp = np.exp(scores - scores.max())
        probabilities: np.ndarray = exp / exp.sum()
        return probabilities

    def probabilities(self, text: str) -> np.ndarray:
        """The synthetic model's probabilities for the head of `text`, before keywords."""
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

    def features(self, text: str) -> tuple[list[str], np.ndarray, dict[str, list[str]]]:
        """What the message model reads: word features, the synthetic probabilities (its order), keyword hits.

        tools/calibrate.py trains on exactly this, so training and routing see a text the same way.
        """
        probs, hits, words = self.analyse(text)
        title = title_of(text)
        title_words = words if title == head(text) else self.model.segmenter(title)
        synthetic = probs if self._stack is None else np.where(self._stack >= 0, probs[self._stack], 0.0)
        return message_features(words, title_words), synthetic, hits

    def classify(self, text: str, top: int = 3, among: Sequence[str] | None = None) -> Classification:
        """The most likely class, optionally only among `among` (ids), renormalised over them.

        Without `among`, and with a `MessageModel` loaded, the message model decides: its best label is a
        class, `none` (no city-management matter) or `unclassed` (the taxonomy has no class: dispatchers),
        and a class's confidence is calibrated, the probability that the class is right. With `among` the
        channel has already said what the report is about, so the score is the synthetic model's share
        among those classes.
        """
        if among is None and self.messages is not None:
            return self._classify_message(text, top)
        probs, hits, _ = self.analyse(text)
        method = "keywords+model" if hits else "model"
        if among is not None:
            mask = np.zeros_like(probs)
            for category_id in among:
                if category_id in self._index:
                    mask[self._index[category_id]] = 1.0
            probs = probs * mask
            probs = probs / probs.sum() if probs.sum() > 0 else mask / max(mask.sum(), 1.0)
        ranked = _ranked(self.model.classes, probs, top)
        candidates = tuple((c, p) for c, p in ranked if c != NONE_LABEL)[:top]
        if not ranked:
            return Classification(None, 0.0, method)
        best, confidence = ranked[0]
        if best == NONE_LABEL:
            return Classification(None, confidence, "model: no city-management matter", candidates)
        if self._cover_without_owner(text):
            return Classification(None, 0.0, COVER_REASON, candidates)
        return Classification(best, confidence, method, candidates, tuple(dict.fromkeys(hits.get(best, ()))))

    def _classify_message(self, text: str, top: int) -> Classification:
        assert self.messages is not None
        features, synthetic, hits = self.features(text)
        probs = self.messages.probabilities(features, synthetic)
        ranked = _ranked(self.messages.classes, probs, top + 1)
        candidates = tuple((c, p) for c, p in ranked if c not in OUT_OF_CLASS)[:top]
        best, raw = ranked[0]
        if self._cover_without_owner(text):  # whatever the model thinks: the dispatchers decide
            return Classification(None, 0.0, COVER_REASON, candidates)
        if best == NONE_LABEL:
            return Classification(None, raw, "message model: no city-management matter", candidates)
        if best == UNCLASSED:
            return Classification(
                None, raw, "message model: a city-management matter the taxonomy has no class for", candidates
            )
        confidence = round(self.messages.confidence(raw, len(text)), 4)
        evidence = "/".join(self.messages.evidence(features, best))
        how = "short report, uncalibrated" if len(text) <= SHORT_REPORT_CHARS else "calibrated"
        method = f"message model ({how}: raw {raw:.2f}; words {evidence or '-'})"
        return Classification(best, confidence, method, candidates, tuple(dict.fromkeys(hits.get(best, ()))))

    def _cover_without_owner(self, text: str) -> bool:
        return (
            bool(self.cover_owners)
            and any(w in text for w in COVER_WORDS)
            and not any(w in text for w in self.cover_owners)
        )


def _ranked(classes: Sequence[str], probs: np.ndarray, k: int) -> list[tuple[str, float]]:
    """The `k` most probable labels with their probability (rounded), best first; zero-probability ones left out."""
    k = min(k + 1, len(probs))  # one more than asked: an out-of-scope label may be among the best
    best_k = np.argpartition(probs, -k)[-k:]
    order = best_k[np.argsort(probs[best_k])[::-1]]
    return [(classes[i], round(float(probs[i]), 4)) for i in order if probs[i] > 0]


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


def synthetic_fingerprint(taxonomy: Taxonomy, rows: Sequence[tuple[str, str]]) -> str:
    """Identifies the synthetic model trained on `rows`: its cache file, and what a message model was stacked on."""
    digest = hashlib.sha256()
    for part in (sklearn.__version__, jieba.__version__, str((CHAR_NGRAMS, SVC_C, SVC_SEED))):
        digest.update(part.encode())
    for c in taxonomy:
        digest.update(f"{c.id}:{','.join(c.keywords)}\n".encode())
    for label, text in rows:
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()[:16]
