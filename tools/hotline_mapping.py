"""Writes data/hotline_mapping.yaml: every leaf of a 12345 category tree → taxonomy class(es) or the queue.

Run once against the hotline's tree and commit the result; review it by hand afterwards (the heuristics
below are a starting point, the committed file is the truth):

    python -m tools.hotline_mapping ../shared/realdata/hotline_category_tree_3level.json

The tree is `{一级: {二级: [三级, ...]}}`; keys in the output are the leaf paths `一级/二级/三级`.
Rules are tried in order; the first pattern (fnmatch over the path) that matches gives the target.
"""

from __future__ import annotations

import fnmatch
import json
import sys
from pathlib import Path
from typing import Any

from router.config import DATA_DIR

OUT = DATA_DIR / "hotline_mapping.yaml"

COVERS = ["C010?", "C011[0-4]"]
HEURISTICS: list[tuple[str, Any]] = [
    ("城乡建设/安全生产/事故处理", {"among": ["I04*"]}),
    ("*/安全生产/安全隐患", {"among": ["I04*", "C0601", "I0512", "C0505"]}),
    ("经济管理/安全生产/事故处理", {"among": ["I04*"]}),
    ("城乡建设/城市建设和市政管理/园林绿化环卫", {"among": ["C04*", "C03*", "I01*"]}),
    ("城乡建设/城市建设和市政管理/城管执法", {"among": ["I05*", "I0101", "I02*", "I0109", "I0111", "I0112", "I03*"]}),
    ("城乡建设/城市建设和市政管理/居民服务设施", {"among": ["C05*", "C03*", "C0605", "C0606"]}),
    ("城乡建设/城市建设和市政管理/城市公共设施", {"among": ["C01*", "C02*"]}),
    ("城乡建设/城市建设和市政管理/基础设施", {"among": ["C01*", "C02*", "I04*"]}),
    ("城乡建设/城市建设和市政管理/公园管理", {"among": ["C04*"]}),
    ("城乡建设/城市建设和市政管理/冬季采暖", "I0609"),
    ("城乡建设/城市建设和市政管理/园林绿化", {"among": ["C04*", "I0106", "I0110", "I0410"]}),
    ("城乡建设/城市建设和市政管理/小区管理", {"among": ["I0606", "I0603", "I0511", "C05*"]}),
    ("城乡建设/城市建设和市政管理/燃气供应", {"among": ["I0403", "C0111", "C0129"]}),
    ("城乡建设/城市建设和市政管理/环境卫生", {"among": ["I01*", "C03*"]}),
    ("城乡建设/城市建设和市政管理/电力供应", {"among": ["I0413", "I0409", "C0116", "C0105"]}),
    ("城乡建设/城市建设和市政管理/自来水供应", {"among": ["I0414", "I0402", "C0101"]}),
    ("城乡建设/城乡规划/违章建筑", "I0101"),
    ("城乡建设/工程质量/施工安全", {"among": ["I03*", "C0602"]}),
    ("*/城镇危房改造", "C0505"),
    ("城乡建设/住房保障与房地产/物业服务", "I0606"),
    ("城乡建设/住房保障与房地产/房屋租赁", "I0603"),
    ("城乡建设/住房保障与房地产/修缮装修", {"among": ["C05*", "I0304"]}),
    ("城乡建设/住房保障与房地产/公房", {"among": ["C05*"]}),
    ("环境保护/环境污染/噪音污染", {"among": ["I0602", "I0301"]}),
    ("环境保护/环境污染/大气污染", {"among": ["I0302", "I0605", "I0111", "I0611"]}),
    ("环境保护/环境污染/水污染", {"among": ["I0105", "I0115", "I0611"]}),
    ("环境保护/环境污染/固体污染", {"among": ["I0102", "I0103", "I0304"]}),
    ("环境保护/环境污染/危险化学品污染", {"among": ["I0411", "C0601"]}),
    ("环境保护/环境污染/其他污染", {"among": ["I0610", "I0605", "I0115"]}),
    ("环境保护/环保管理/环境执法", {"among": ["I0602", "I0605", "I0302", "I0111", "I0611"]}),
    ("环境保护/环保管理/环境监测", "C0306"),
    ("交通运输/建设管理/设施维护", {"among": ["C02*"]}),
    ("科技与信息产业/电信/通信保障", {"among": ["C0107", "C0108", "C0109", "C0117", "C0123"]}),
    ("民政/社会服务/生活无着人员救助", "I0502"),
    ("民政/区划地名/地名管理", {"among": ["C0216", "C0507"]}),
    ("商贸旅游/市场监管/广告监管", {"among": ["I02*"]}),
    ("商贸旅游/市场监管/物价监督", "I0608"),
    ("商贸旅游/市场监管/商品质量", {"among": ["I0607", "I0608"]}),
    ("卫生计生/食品药品监管/食品安全", "I0607"),
    ("政法/交通管理/交通事故", "I0412"),
    ("政法/交通管理/交通安全管理", {"among": ["I0505", "I0507", "C0206", "C0207", "C0213"]}),
    ("政法/社会治安/消防安全", {"among": ["I0408", "C0115", "I0512"]}),
    ("农村农业/水利水电/防汛抗旱", {"among": ["I0406", "I0404"]}),
    ("农村农业/水利水电/江河湖治理", {"among": ["I0105", "C0603", "C0604"]}),
]


def leaves(tree: dict[str, dict[str, list[str]]]) -> list[str]:
    return [f"{a}/{b}/{c}" for a, level2 in tree.items() for b, level3 in level2.items() for c in level3]


def target_for(path: str) -> Any:
    for pattern, target in HEURISTICS:
        if fnmatch.fnmatchcase(path, pattern):
            return target
    return "queue"


def render(paths: list[str]) -> str:
    header = (
        "# 12345 hotline category leaves (一级/二级/三级) → taxonomy class, a choice among classes that the text\n"
        "# decides, or `queue` (not a city-management matter: the dispatchers forward it).\n"
        "# Generated once by `python -m tools.hotline_mapping <tree.json>` with keyword heuristics, then reviewed.\n"
    )
    lines = [header, "schemes:\n", "  hotline:\n"]
    for path in paths:
        # JSON is YAML: one flow-style line per leaf, no anchors, patterns like I04* safely quoted.
        key, value = (json.dumps(x, ensure_ascii=False) for x in (path, target_for(path)))
        lines.append(f"    {key}: {value}\n")
    return "".join(lines)


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        sys.exit("usage: python -m tools.hotline_mapping <hotline_category_tree.json>")
    tree = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    paths = leaves(tree)
    OUT.write_text(render(paths), encoding="utf-8")
    mapped = sum(target_for(p) != "queue" for p in paths)
    print(f"{OUT}: {len(paths)} leaves, {mapped} mapped to the taxonomy, {len(paths) - mapped} to the queue")


if __name__ == "__main__":
    main(sys.argv[1:])
