"""Scores the text classifier on the held-out set: precision, recall and F1 per class, and macro-F1.

    python -m router.eval [--threshold 0.5]

The model is trained on data/corpus/train.tsv exactly as the service does at start-up, then judged on
data/corpus/heldout.tsv, whose sentences use other templates, places and words (see router/corpus.py).
Besides the forced choice it reports what the service actually does: below the confidence threshold a
report goes to the dispatchers' queue, so coverage and the accuracy of what is decided automatically.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import precision_recall_fscore_support

from router.classify import TextClassifier
from router.config import RouterSettings
from router.corpus import HELDOUT, NONE_LABEL, read_tsv
from shared.taxonomy import Taxonomy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=0.5, help="confidence below which reports are queued")
    args = parser.parse_args()

    settings = RouterSettings(model_cache_dir=None)
    taxonomy = Taxonomy.load()
    started = time.perf_counter()
    train = read_tsv(settings.corpus_path)
    classifier = TextClassifier.build(taxonomy, train, cache_dir=None)
    trained_s = time.perf_counter() - started
    heldout = read_tsv(HELDOUT)

    truth = [label for label, _ in heldout]
    started = time.perf_counter()
    results = [classifier.classify(text) for _, text in heldout]
    per_text_ms = (time.perf_counter() - started) / len(heldout) * 1000
    predicted = [r.category_id or NONE_LABEL for r in results]
    model_only = [classifier.model.classes[int(np.argmax(classifier.probabilities(t)))] for _, t in heldout]

    labels = sorted(set(truth))
    p, r, f, n = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    names = {c.id: c.name for c in taxonomy} | {NONE_LABEL: "（非城市管理事项）"}
    print(f"{'class':<7} {'name':<14} {'precision':>9} {'recall':>7} {'F1':>6} {'n':>4}")
    for i, label in enumerate(labels):
        print(f"{label:<7} {names.get(label, '?'):<14}\t{p[i]:9.3f} {r[i]:7.3f} {f[i]:6.3f} {int(n[i]):4d}")

    confident = np.array([x.confidence >= args.threshold for x in results])
    correct = np.array([a == b for a, b in zip(predicted, truth, strict=True)])
    macro = float(np.mean(f))
    model_macro = float(np.mean(precision_recall_fscore_support(
        truth, model_only, labels=labels, zero_division=0)[2]))
    print()
    print(f"train: {len(train)} sentences, {len(set(lbl for lbl, _ in train))} classes, fitted in {trained_s:.1f} s")
    print(f"held-out: {len(heldout)} sentences; {per_text_ms:.2f} ms per text")
    print(f"macro-F1 (keywords + model, forced choice): {macro:.3f}")
    print(f"macro-F1 (model alone, forced choice):      {model_macro:.3f}")
    print(f"accuracy (forced choice):                   {correct.mean():.3f}")
    print(f"at threshold {args.threshold:.2f}: {confident.mean():.1%} decided automatically, "
          f"{correct[confident].mean():.1%} of those right; {1 - confident.mean():.1%} to the dispatchers' queue")


if __name__ == "__main__":
    main()
