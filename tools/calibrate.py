"""Learns the message model from labelled real messages; writes router/data/classifier_calibration.json.

    python -m tools.calibrate

The `train` split (with the synthetic corpus) teaches the model; the `calibration` split fits the map from
its probability to the probability that the class is right, and the table printed here is what the
district's threshold is chosen from. The `test` split is never read. What is written is derived, not text:
words seen in at least `MIN_DF` messages of one corpus (no numbers, no anonymised place codes) with a
weight per class, the weights on the synthetic model's probabilities, and the knots of a monotone curve
(docs/classifier.md says why that may be committed).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from router.classify import OUT_OF_CLASS, SHORT_REPORT_CHARS, MessageModel, TextClassifier, synthetic_fingerprint
from router.config import RouterSettings
from router.reference import training_rows
from shared.taxonomy import Taxonomy
from tools import realdata

MIN_DF = 3
"""A word enters the model only if at least this many messages (or generated sentences) contain it."""
REAL_WEIGHT = 5.0
"""A real message counts this many generated sentences: there are far fewer of them."""
C = 1.0
SYNTHETIC_SCALE = 3.0
"""The synthetic probabilities enter the model multiplied by this (folded into the committed weights)."""
PRUNE = 0.05
"""Word weights smaller than this are left out of the file (measured against 0.02: 4 of 491 calibration decisions
move; the curve is fitted to the pruned model, so it describes what is committed)."""
PRUNE_SYNTHETIC = 0.2
"""The same for the weights on the synthetic probabilities (mostly one per class, on its own label)."""
TARGET_PRECISION = 0.95
_CODE = re.compile(r"^(t:)?[a-z]+\d+|\d")
"""Numbers and the data set's anonymised place codes (A3区, K7县): not words that say what a message is about."""


def vocabulary(corpora: Sequence[Sequence[Sequence[str]]]) -> list[str]:
    """Features seen in at least MIN_DF documents of one corpus, without numbers and place codes."""
    keep: set[str] = set()
    for docs in corpora:
        df = Counter(f for doc in docs for f in set(doc))
        keep |= {f for f, n in df.items() if n >= MIN_DF}
    return sorted(f for f in keep if f.strip() and f != "T:" and not _CODE.search(f.lower()))


def fit(
    plain: TextClassifier, synthetic: list[tuple[str, str]], train: list[realdata.Labelled], fingerprint: str
) -> tuple[dict[str, object], LogisticRegression, sp.csr_matrix]:
    """The message model as a JSON-ready document (without its calibration curve), the fitted scikit-learn
    model and its feature matrix (synthetic rows, then real ones: tests hold the document equal to it)."""
    syn = [plain.features(text) for _, text in synthetic]
    real = [plain.features(row.full_text) for row in train]
    vocab = vocabulary([[f for f, _, _ in syn], [f for f, _, _ in real]])
    vectorizer = CountVectorizer(analyzer=lambda doc: doc, vocabulary=vocab, binary=True)
    words = vectorizer.transform([f for f, _, _ in syn] + [f for f, _, _ in real])
    probs = np.array([p for _, p, _ in syn] + [p for _, p, _ in real]) * SYNTHETIC_SCALE
    features = sp.hstack([words, sp.csr_matrix(probs)]).tocsr()
    labels = [label for label, _ in synthetic] + [row.label for row in train]
    weights = [1.0] * len(synthetic) + [REAL_WEIGHT] * len(train)
    model = LogisticRegression(C=C, max_iter=5000).fit(features, labels, sample_weight=weights)
    classes = [str(c) for c in model.classes_]
    coef = model.coef_  # (classes, words + synthetic classes)
    word_weights = {
        word: {c: round(float(coef[k, j]), 3) for k, c in enumerate(classes) if abs(coef[k, j]) >= PRUNE}
        for j, word in enumerate(vocab)
    }
    document = {
        "classes": classes,
        "bias": [round(float(b), 4) for b in model.intercept_],
        "trained_with": fingerprint,
        "synthetic": {
            source: {
                c: round(float(coef[k, len(vocab) + i]) * SYNTHETIC_SCALE, 3)
                for k, c in enumerate(classes)
                if abs(coef[k, len(vocab) + i]) * SYNTHETIC_SCALE >= PRUNE_SYNTHETIC
            }
            for i, source in enumerate(plain.model.classes)
        },
        "words": {w: ws for w, ws in word_weights.items() if ws},
    }
    return document, model, features


def class_decisions(classifier: TextClassifier, rows: list[realdata.Labelled]) -> tuple[np.ndarray, np.ndarray]:
    """Raw probability and rightness of every class decision the message model makes on the prose of `rows`."""
    assert classifier.messages is not None
    xs, ys = [], []
    for row in rows:
        if len(row.full_text) <= SHORT_REPORT_CHARS:
            continue  # the curve is for message prose; short reports keep the model's probability
        features, synthetic, _ = classifier.features(row.full_text)
        probs = classifier.messages.probabilities(features, synthetic)
        best = int(np.argmax(probs))
        if classifier.messages.classes[best] not in OUT_OF_CLASS:
            xs.append(float(probs[best]))
            ys.append(classifier.messages.classes[best] == row.label)
    return np.array(xs), np.array(ys, dtype=float)


def main() -> None:
    if not realdata.available():
        raise SystemExit(f"{realdata.messages_path()} is not there: set CITYLOOP_REALDATA")
    settings = RouterSettings(model_cache_dir=None)
    path = settings.classifier_calibration_path
    assert path is not None
    taxonomy = Taxonomy.load()
    synthetic = training_rows(settings)
    plain = TextClassifier.build(taxonomy, synthetic, cache_dir=None)
    train = realdata.load(["train"])
    calibration = realdata.load(["calibration"])

    document: dict[str, object] = {
        "about": "Learned by tools/calibrate.py from labelled real messages (train split: the model; calibration "
        "split: the curve). Words and numbers only; no message text.",
        "model": fit(plain, synthetic, train, synthetic_fingerprint(taxonomy, synthetic))[0],
        "calibration": {"x": [0.0, 1.0], "y": [0.0, 1.0]},
    }
    classifier = TextClassifier(plain.model, plain.matcher, messages=MessageModel.from_document(document))
    x, y = class_decisions(classifier, calibration)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
    # The curve's own knots (it interpolates linearly between them, as IsotonicRegression.predict does),
    # widened to 0 and 1 so every raw probability has a value.
    knots_x = np.concatenate([[0.0], iso.X_thresholds_, [1.0]])
    knots_y = np.concatenate([[iso.y_thresholds_[0]], iso.y_thresholds_, [iso.y_thresholds_[-1]]])
    knots_x, first = np.unique(np.round(knots_x, 4), return_index=True)
    knots_y = np.maximum.accumulate(np.round(knots_y[first], 4))
    document["calibration"] = {
        "x": knots_x.tolist(),
        "y": knots_y.tolist(),
        "fitted_on": f"{len(x)} class decisions on {len(calibration)} calibration messages",
    }
    path.write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")

    model = document["model"]
    assert isinstance(model, dict)
    calibrated = np.interp(x, knots_x, knots_y)
    print(
        f"{path}: {len(model['words'])} word features, {len(model['classes'])} labels; curve from {len(x)} class "
        f"decisions on {len(calibration)} calibration messages ({int(y.sum())} right)"
    )
    print("threshold  dispatched  precision (calibration split)")
    for t in sorted(set(np.round(calibrated, 4).tolist()), reverse=True):
        chosen = calibrated >= t - 1e-9
        precision = y[chosen].mean()
        mark = f"  <- meets {TARGET_PRECISION:.0%}" if precision >= TARGET_PRECISION else ""
        print(f"{t:9.4f}  {int(chosen.sum()):10d}  {precision:9.1%}{mark}")


if __name__ == "__main__":
    main()
