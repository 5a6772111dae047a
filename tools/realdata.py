"""Real citizen messages for evaluation: texts from ../shared/realdata, labels and splits from tools/data.

The texts carry no licence, so they are read from beside the checkout and never copied into the
repository (`CITYLOOP_REALDATA` points elsewhere). Only message ids, labels and the split are
committed (tools/data/citizen_labels.tsv); docs/classifier.md says how the labels were made.
"""

from __future__ import annotations

import csv
import hashlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from router.classify import OUT_OF_CLASS

REPO = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("CITYLOOP_REALDATA", REPO.parent / "shared" / "realdata"))
MESSAGES = "citizen_messages_with_replies.tsv"
LABELS = Path(__file__).with_name("data") / "citizen_labels.tsv"

Split = Literal["train", "calibration", "test"]


@dataclass(frozen=True)
class Labelled:
    message_id: str
    label: str
    split: Split
    title: str
    text: str

    @property
    def full_text(self) -> str:
        """What a citizen submits: the title, then the message."""
        return f"{self.title}。{self.text}"

    @property
    def has_class(self) -> bool:
        return self.label not in OUT_OF_CLASS


def messages_path() -> Path:
    return REALDATA / MESSAGES


def available() -> bool:
    return messages_path().exists()


def hash_split(message_id: str) -> Split:
    """The split of a message labelled after the first batch: fixed by its id alone, before any tuning."""
    bucket = int(hashlib.sha256(f"citizen-split:{message_id}".encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 40 else "calibration" if bucket < 70 else "test"


def read_labels(path: Path = LABELS) -> list[tuple[str, str, Split]]:
    rows: list[tuple[str, str, Split]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#") or line.startswith("message_id"):
            continue
        message_id, label, split = line.split("\t")
        if split not in ("train", "calibration", "test"):
            raise ValueError(f"{path}: unknown split {split!r} for message {message_id}")
        rows.append((message_id, label, split))  # type: ignore[arg-type]
    return rows


def load(splits: Sequence[Split] = ("train", "calibration", "test")) -> list[Labelled]:
    """The labelled messages of `splits`, texts joined in from the real file (which must be there)."""
    csv.field_size_limit(sys.maxsize)
    with messages_path().open(encoding="utf-8", newline="") as fh:
        texts = {row["message_id"]: (row["title"], row["text"]) for row in csv.DictReader(fh, delimiter="\t")}
    out = []
    for message_id, label, split in read_labels():
        if split in splits:
            title, text = texts[message_id]
            clean = " ".join(text.replace("_x000D_", " ").split())
            out.append(Labelled(message_id, label, split, title.strip(), clean))
    return out
