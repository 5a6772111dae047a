"""Deterministic labelled corpus for the text classifier: a training set and an honest held-out set.

Sentences are built from per-class phrasings (`data/corpus/vocab.yaml`). The held-out set uses other
sentence templates, other places and fillers, and in every phrasing list one entry the training set
never contains, so its score says how the model copes with wording it has not seen.

    python -m tools.corpus          # rewrite router/data/corpus/train.tsv and heldout.tsv
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from router.classify import NONE_LABEL
from router.config import DATA_DIR

DATA = DATA_DIR / "corpus"
VOCAB = DATA / "vocab.yaml"
TRAIN = DATA / "train.tsv"
HELDOUT = DATA / "heldout.tsv"
SEED = 20240601
TRAIN_PER_CLASS = 26
HELDOUT_PER_CLASS = 8
NONE_FACTOR = 6
"""The out-of-scope class spans far more topics than any one category: it gets this many times the sentences."""

Split = Literal["train", "heldout"]


@dataclass(frozen=True)
class Style:
    templates: tuple[str, ...]
    places: tuple[str, ...]
    times: tuple[str, ...]
    asks: tuple[str, ...]


STYLES: dict[Split, Style] = {
    "train": Style(
        templates=(
            "{place}{obj}{prob}",
            "{place}有{obj}{prob}，{ask}",
            "{obj}{prob}，位置在{place}",
            "反映{place}的{obj}{prob}",
            "{place}附近{obj}{prob}，{ask}",
            "市民来电：{place}{obj}{prob}。{ask}",
            "巡查发现{place}{obj}{prob}",
            "{time}{place}{obj}{prob}，{ask}",
            "{obj}{prob}",
            "来电人称{place}{obj}{prob}，{ask}",
        ),
        places=(
            "东四北大街",
            "朝阳门内大街",
            "北新桥三条",
            "交道口南大街",
            "和平里西街",
            "安定门外大街",
            "东直门南小街",
            "崇文门外大街",
            "天坛东路",
            "永定门东街",
            "龙潭路",
            "体育馆路",
            "前门大街",
            "王府井大街",
            "东单北大街",
            "建国门内大街",
            "金宝街",
            "灯市口大街",
            "地安门东大街",
            "鼓楼东大街",
            "雍和宫大街",
            "幸福大街",
            "和平里中街",
            "东四六条社区",
            "新中街",
            "景山后街",
        ),
        times=("今天早上", "昨天晚上", "最近", "这两天", "刚才", "今天下午"),
        asks=("请尽快处理", "希望有关部门处理", "请派人来看看", "麻烦尽快解决", "请相关部门核实"),
    ),
    "heldout": Style(
        templates=(
            "您好，我想反映一下，{place}这边{obj}{prob}，{ask}",
            "{ask}！{place}的{obj}{prob}",
            "在{place}发现{obj}，{prob}",
            "诉求人表示{time}{place}一带{obj}{prob}，{ask}",
            "随手拍：{obj}{prob}（{place}）",
            "{place}门口{obj}{prob}已经{time}了，{ask}",
            "群众举报{place}{obj}{prob}",
            "我家楼下{place}{obj}{prob}，{ask}",
        ),
        places=(
            "南锣鼓巷",
            "东花市北里",
            "左安门内大街",
            "广渠门内大街",
            "光明路",
            "祈年大街",
            "花市大街",
            "和平里北街",
            "青年湖南街",
            "地坛公园东门",
            "北京站东街",
            "东中街",
            "东四十条",
            "东华门大街",
        ),
        times=("上周开始", "从前天起", "这一阵子", "夜里十点多", "一个多星期", "好几个月"),
        asks=("盼复", "恳请相关单位核实处置", "希望早日解决", "赶紧管管吧", "谢谢"),
    ),
}


def _phrases(entries: Sequence[str], sets: dict[str, list[str]]) -> list[str]:
    out: list[str] = []
    for entry in entries:
        out.extend(sets[entry[1:]] if entry.startswith("@") else [entry])
    return out


def load_vocab(path: Path = VOCAB) -> dict[str, tuple[list[str], list[str]]]:
    """Class id → (objects, problems), problem sets expanded; the last entry of each is held-out only."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    sets = raw["problem_sets"]
    return {code: (list(entry["objects"]), _phrases(entry["problems"], sets)) for code, entry in raw["classes"].items()}


def generate(split: Split, vocab: dict[str, tuple[list[str], list[str]]] | None = None) -> list[tuple[str, str]]:
    """(label, text) pairs of one split, the same on every run."""
    vocab = vocab or load_vocab()
    style = STYLES[split]
    rng = random.Random(f"{SEED}-{split}")
    rows: list[tuple[str, str]] = []
    for label in sorted(vocab):
        objects, problems = vocab[label]
        per_class = (TRAIN_PER_CLASS if split == "train" else HELDOUT_PER_CLASS) * (
            NONE_FACTOR if label == NONE_LABEL else 1
        )
        if split == "train":
            objects, problems = objects[:-1], problems[:-1]
        seen: set[str] = set()
        for _ in range(per_class * 20):
            if len(seen) == per_class:
                break
            text = rng.choice(style.templates).format(
                place=rng.choice(style.places),
                obj=rng.choice(objects),
                prob=rng.choice(problems),
                time=rng.choice(style.times),
                ask=rng.choice(style.asks),
            )
            if text not in seen:
                seen.add(text)
                rows.append((label, text))
    return rows


def render_tsv(rows: Sequence[tuple[str, str]]) -> str:
    return "".join(f"{label}\t{text}\n" for label, text in rows)


def main() -> None:
    vocab = load_vocab()
    for split, path in (("train", TRAIN), ("heldout", HELDOUT)):
        rows = generate(split, vocab)  # type: ignore[arg-type]
        path.write_text(render_tsv(rows), encoding="utf-8")
        print(f"{path}: {len(rows)} lines")


if __name__ == "__main__":
    main()
