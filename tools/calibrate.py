"""Learns the classifier's calibration from labelled real messages; writes router/data/classifier_calibration.json.

    python -m tools.calibrate

Uses the `train` split (and the synthetic training corpus) for the in-scope word model and the
`calibration` split for the score → probability map and the suggested threshold; never the `test`
split. What is written is derived, not text: words seen in at least `MIN_DF` training messages with a
weight each, and the knots of a monotone curve (docs/classifier.md says why that may be committed).
"""

from __future__ import annotations

import json

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from router.classify import NONE_LABEL, TextClassifier, head
from router.config import RouterSettings
from router.reference import training_rows
from shared.taxonomy import Taxonomy
from tools import realdata

MIN_DF = 3
REAL_WEIGHT = 4.0
"""A real message counts this many synthetic sentences in the in-scope model: there are far fewer of them."""
SCOPE_C = 0.5
TARGET_PRECISION = 0.95
GRID = 41


def fit_scope(
    classifier: TextClassifier, texts: list[str], in_scope: list[bool], weights: list[float]
) -> tuple[dict[str, float], float]:
    segment = classifier.model.segmenter

    def analyzer(text: str) -> list[str]:
        return sorted(set(segment(head(text))))

    vectorizer = CountVectorizer(analyzer=analyzer, binary=True, min_df=MIN_DF)
    features = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=SCOPE_C, max_iter=2000).fit(features, in_scope, sample_weight=weights)
    words = {
        w: round(float(c), 4)
        for w, c in zip(vectorizer.get_feature_names_out(), model.coef_[0], strict=True)
        if abs(c) >= 0.01 and not w.strip().isdigit()
    }
    return words, round(float(model.intercept_[0]), 4)


def raw_scores(classifier: TextClassifier, rows: list[realdata.Labelled]) -> tuple[np.ndarray, np.ndarray]:
    """Raw score and rightness of every class decision the classifier makes on `rows`."""
    xs, ys = [], []
    for row in rows:
        c = classifier.classify(row.full_text)
        if c.category_id is not None:
            xs.append(c.confidence)
            ys.append(c.category_id == row.label)
    return np.array(xs), np.array(ys, dtype=float)


def main() -> None:
    if not realdata.available():
        raise SystemExit(f"{realdata.messages_path()} is not there: set CITYLOOP_REALDATA")
    settings = RouterSettings(model_cache_dir=None)
    taxonomy = Taxonomy.load()
    synthetic = training_rows(settings)
    plain = TextClassifier.build(taxonomy, synthetic, cache_dir=None)
    train = realdata.load(["train"])
    calibration = realdata.load(["calibration"])

    texts = [t for _, t in synthetic] + [r.full_text for r in train]
    labels = [label != NONE_LABEL for label, _ in synthetic] + [r.has_class for r in train]
    weights = [1.0] * len(synthetic) + [REAL_WEIGHT] * len(train)
    words, bias = fit_scope(plain, texts, labels, weights)

    # Raw scores with the scope model but an identity map, then the map fitted to the calibration split.
    identity = {"x": [0.0, 1.0], "y": [0.0, 1.0]}
    path = settings.classifier_calibration_path
    assert path is not None
    document = {
        "about": "Learned by tools/calibrate.py from labelled real messages (train split: scope words; calibration "
        "split: the map). Words and numbers only; no message text.",
        "scope": {"bias": bias, "words": dict(sorted(words.items()))},
        "calibration": identity,
    }
    path.write_text(json.dumps(document, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    scoped = TextClassifier.build(taxonomy, synthetic, cache_dir=None, calibration_path=path)
    x, y = raw_scores(scoped, calibration)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
    grid = np.linspace(0.0, 1.0, GRID)
    fitted = np.maximum.accumulate(iso.predict(grid))
    document["calibration"] = {
        "x": [round(float(v), 4) for v in grid],
        "y": [round(float(v), 4) for v in fitted],
        "fitted_on": f"{len(x)} class decisions on {len(calibration)} calibration messages",
    }
    path.write_text(json.dumps(document, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")

    calibrated = np.interp(x, grid, fitted)
    print(
        f"{path}: {len(words)} scope words (bias {bias}), map from {len(x)} class decisions on "
        f"{len(calibration)} calibration messages"
    )
    print("threshold  dispatched  precision (calibration split)")
    for t in sorted(set(calibrated.tolist()), reverse=True):
        chosen = calibrated >= t
        print(
            f"{t:9.4f}  {int(chosen.sum()):10d}  {y[chosen].mean():9.1%}"
            f"{'  <- meets ' + format(TARGET_PRECISION, '.0%') if y[chosen].mean() >= TARGET_PRECISION else ''}"
        )


if __name__ == "__main__":
    main()
