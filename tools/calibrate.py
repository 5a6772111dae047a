"""Learns the message model from labelled real messages; writes router/data/classifier_calibration.json.

    python -m tools.calibrate [--curve isotonic|logistic]

`--curve isotonic` (the default, what is committed): the `train` split (with the synthetic corpus) teaches the
model; the `calibration` split fits an isotonic map from its probability to the probability that the class is
right, and the table printed here is what the district's threshold is chosen from.

`--curve logistic` (measured, not committed: docs/classifier.md): the `train` and `calibration` splits teach the
model, and the map is cross-fitted: the two splits are cut into `FOLDS` folds by a hash of the message id, a
model learned without each fold decides that fold's messages, and a logistic curve (Platt scaling: two numbers)
is fitted to those out-of-fold decisions; the table is printed on the same decisions.

The `test` split is never read. What is written is derived, not text: words seen in at least `MIN_DF` messages
of one corpus (no numbers, no anonymised place codes) with a weight per class, the weights on the synthetic
model's probabilities, and the curve (knots, or a slope and an intercept); docs/classifier.md says why that may
be committed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from router.classify import (
    OUT_OF_CLASS,
    SHORT_REPORT_CHARS,
    MessageModel,
    TextClassifier,
    calibrated,
    logit,
    synthetic_fingerprint,
)
from router.config import RouterSettings
from router.reference import training_rows
from shared.taxonomy import Taxonomy
from tools import realdata
from tools.eval import reliability

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
FOLDS = 5
"""Folds of the cross-fitting over the train and calibration splits."""
PLATT_C = 1e4
"""Inverse regularisation of the two-number calibration curve: next to none (167 decisions fit 2 numbers)."""
IDENTITY = {"slope": 1.0, "intercept": 0.0}
"""A calibration that leaves the raw probability as it is (used while the curve is not fitted yet)."""
_CODE = re.compile(r"^(t:)?[a-z]+\d+|\d")
"""Numbers and the data set's anonymised place codes (A3区, K7县): not words that say what a message is about."""


def vocabulary(corpora: Sequence[Sequence[Sequence[str]]]) -> list[str]:
    """Features seen in at least MIN_DF documents of one corpus, without numbers and place codes."""
    keep: set[str] = set()
    for docs in corpora:
        df = Counter(f for doc in docs for f in set(doc))
        keep |= {f for f, n in df.items() if n >= MIN_DF}
    return sorted(f for f in keep if f.strip() and f != "T:" and not _CODE.search(f.lower()))


Features = tuple[list[str], np.ndarray]
"""What the message model reads of one text: word features and the synthetic model's probabilities."""


def fit(
    plain: TextClassifier, synthetic: list[tuple[str, str]], train: list[realdata.Labelled], fingerprint: str
) -> tuple[dict[str, object], LogisticRegression, sp.csr_matrix]:
    """The message model as a JSON-ready document (without its calibration curve), the fitted scikit-learn
    model and its feature matrix (synthetic rows, then real ones: tests hold the document equal to it)."""
    syn = [plain.features(text)[:2] for _, text in synthetic]
    real = [plain.features(row.full_text)[:2] for row in train]
    return fit_features(
        plain.model.classes, syn, [label for label, _ in synthetic], real, [row.label for row in train], fingerprint
    )


def fit_features(
    sources: Sequence[str],
    syn: Sequence[Features],
    syn_labels: Sequence[str],
    real: Sequence[Features],
    real_labels: Sequence[str],
    fingerprint: str,
) -> tuple[dict[str, object], LogisticRegression, sp.csr_matrix]:
    """`fit` on features already read (`sources`: the synthetic model's classes, in its probabilities' order)."""
    vocab = vocabulary([[f for f, _ in syn], [f for f, _ in real]])
    vectorizer = CountVectorizer(analyzer=lambda doc: doc, vocabulary=vocab, binary=True)
    words = vectorizer.transform([f for f, _ in syn] + [f for f, _ in real])
    probs = np.array([p for _, p in syn] + [p for _, p in real]) * SYNTHETIC_SCALE
    features = sp.hstack([words, sp.csr_matrix(probs)]).tocsr()
    labels = [*syn_labels, *real_labels]
    weights = [1.0] * len(syn) + [REAL_WEIGHT] * len(real)
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
            for i, source in enumerate(sources)
        },
        "words": {w: ws for w, ws in word_weights.items() if ws},
    }
    return document, model, features


def fold_of(message_id: str) -> int:
    """The cross-fitting fold of a message: a hash of its id, so it does not depend on order or on results."""
    return int(hashlib.sha256(f"calibrate-fold:{message_id}".encode()).hexdigest()[:8], 16) % FOLDS


def class_decisions(
    messages: MessageModel, real: Sequence[Features], labels: Sequence[str], lengths: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw probability, rightness and position (in `real`) of every class decision `messages` makes on message
    prose (not short reports, which keep the model's probability)."""
    xs, ys, at = [], [], []
    for i, ((features, synthetic), label, length) in enumerate(zip(real, labels, lengths, strict=True)):
        if length <= SHORT_REPORT_CHARS:
            continue
        probs = messages.probabilities(features, synthetic)
        best = int(np.argmax(probs))
        if messages.classes[best] not in OUT_OF_CLASS:
            xs.append(float(probs[best]))
            ys.append(messages.classes[best] == label)
            at.append(i)
    return np.array(xs), np.array(ys, dtype=float), np.array(at, dtype=int)


def cross_fitted_decisions(
    sources: Sequence[str],
    syn: Sequence[Features],
    syn_labels: Sequence[str],
    rows: Sequence[realdata.Labelled],
    real: Sequence[Features],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw probability, rightness and fold of the class decisions on `rows`, each made by a model (pruned as the
    committed one is) learned without the message's fold."""
    folds = np.array([fold_of(row.message_id) for row in rows])
    xs, ys, ks = [], [], []
    for k in range(FOLDS):
        inside = [i for i in range(len(rows)) if folds[i] != k]
        outside = [i for i in range(len(rows)) if folds[i] == k]
        document, _, _ = fit_features(
            sources, syn, syn_labels, [real[i] for i in inside], [rows[i].label for i in inside], ""
        )
        messages = MessageModel.from_document({"model": document, "calibration": IDENTITY})
        x, y, _ = class_decisions(
            messages,
            [real[i] for i in outside],
            [rows[i].label for i in outside],
            [len(rows[i].full_text) for i in outside],
        )
        xs.append(x)
        ys.append(y)
        ks.append(np.full(len(x), k))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ks)


def platt(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of the logistic curve from logit(raw probability) to P(right), by maximum likelihood."""
    curve = LogisticRegression(C=PLATT_C, max_iter=1000).fit(np.array([[logit(v)] for v in x]), y.astype(int))
    return float(curve.coef_[0, 0]), float(curve.intercept_[0])


def isotonic_curve(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The isotonic curve's own knots (it interpolates linearly between them, as IsotonicRegression.predict does),
    widened to 0 and 1 so every raw probability has a value."""
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
    knots_x = np.concatenate([[0.0], iso.X_thresholds_, [1.0]])
    knots_y = np.concatenate([[iso.y_thresholds_[0]], iso.y_thresholds_, [iso.y_thresholds_[-1]]])
    knots_x, first = np.unique(np.round(knots_x, 4), return_index=True)
    return knots_x, np.maximum.accumulate(np.round(knots_y[first], 4))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--curve", choices=["isotonic", "logistic"], default="isotonic")
    args = parser.parse_args()
    if not realdata.available():
        raise SystemExit(f"{realdata.messages_path()} is not there: set CITYLOOP_REALDATA")
    settings = RouterSettings(model_cache_dir=None)
    path = settings.classifier_calibration_path
    assert path is not None
    taxonomy = Taxonomy.load()
    synthetic = training_rows(settings)
    plain = TextClassifier.build(taxonomy, synthetic, cache_dir=None)
    fingerprint = synthetic_fingerprint(taxonomy, synthetic)
    sources = plain.model.classes
    syn = [plain.features(text)[:2] for _, text in synthetic]
    syn_labels = [label for label, _ in synthetic]

    if args.curve == "isotonic":
        train, calibration = realdata.load(["train"]), realdata.load(["calibration"])
        real_train = [plain.features(row.full_text)[:2] for row in train]
        model = fit_features(sources, syn, syn_labels, real_train, [row.label for row in train], fingerprint)[0]
        messages = MessageModel.from_document({"model": model, "calibration": IDENTITY})
        x, y, _ = class_decisions(
            messages,
            [plain.features(row.full_text)[:2] for row in calibration],
            [row.label for row in calibration],
            [len(row.full_text) for row in calibration],
        )
        knots_x, knots_y = isotonic_curve(x, y)
        about = "train split: the model; calibration split: the curve"
        curve: dict[str, object] = {
            "x": knots_x.tolist(),
            "y": knots_y.tolist(),
            "fitted_on": f"{len(x)} class decisions on {len(calibration)} calibration messages",
        }
        confidence = np.interp(x, knots_x, knots_y)
        where = "calibration split"
    else:
        rows = realdata.load(["train", "calibration"])
        real = [plain.features(row.full_text)[:2] for row in rows]
        x, y, folds = cross_fitted_decisions(sources, syn, syn_labels, rows, real)
        slope, intercept = (round(v, 4) for v in platt(x, y))
        # How well a curve fitted without a fold describes that fold's decisions (the figure to compare curves on).
        held_out = np.zeros_like(x)
        for k in range(FOLDS):
            a, b = platt(x[folds != k], y[folds != k])
            held_out[folds == k] = [calibrated(v, a, b) for v in x[folds == k]]
        model = fit_features(sources, syn, syn_labels, real, [row.label for row in rows], fingerprint)[0]
        about = "train and calibration splits: the model; their cross-fitted decisions: the logistic curve"
        curve = {
            "slope": slope,
            "intercept": intercept,
            "fitted_on": f"{len(x)} cross-fitted class decisions ({FOLDS} folds) on {len(rows)} train and "
            "calibration messages",
        }
        confidence = np.array([calibrated(v, slope, intercept) for v in x])
        where = "cross-fitted decisions, train and calibration splits"
        print(
            f"curve 1/(1+exp(-({slope:.4f}·logit(p) + {intercept:.4f}))); ECE of the decisions: raw "
            f"{reliability(x, y)[0]:.3f}, calibrated {reliability(confidence, y)[0]:.3f}, with a curve fitted "
            f"without their fold {reliability(held_out, y)[0]:.3f}"
        )
    document: dict[str, object] = {
        "about": f"Learned by tools/calibrate.py from labelled real messages ({about}). Words and numbers only; no "
        "message text.",
        "model": model,
        "calibration": curve,
    }
    path.write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")

    words, labels = model["words"], model["classes"]
    assert isinstance(words, dict) and isinstance(labels, list)
    print(
        f"{path}: {len(words)} word features, {len(labels)} labels; curve from {len(x)} class decisions "
        f"({where}; {int(y.sum())} right)"
    )
    print(f"threshold  dispatched  precision ({where})")
    for t in sorted(set(np.round(confidence, 4).tolist()), reverse=True):
        chosen = confidence >= t - 1e-9
        precision = y[chosen].mean()
        mark = f"  <- meets {TARGET_PRECISION:.0%}" if precision >= TARGET_PRECISION else ""
        print(f"{t:9.4f}  {int(chosen.sum()):10d}  {precision:9.1%}{mark}")


if __name__ == "__main__":
    main()
