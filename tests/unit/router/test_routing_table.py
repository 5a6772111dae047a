"""Routing decision table: category × place × channel × time × duplicates, through the pure `route()`.

Demo district 演示区 and its rules (router/data/rules.yaml); no database. Every row states what a
dispatcher would check: outcome, category, department, the rule that fired, priority, deadline profile,
whistle, and where it landed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, Point

from router.config import RouterSettings
from router.merge import InMemoryPrimaries, OpenPrimary
from router.reference import ReferenceData
from router.routing import route
from router.rules import RuleSet
from shared.contracts.common import CategoryRef, Crs
from shared.contracts.reports import ReportReceived
from shared.contracts.routing import ManualDispatchNeeded, ReportMerged, RoutingDecided
from shared.geo import AreaIndex, from_wgs84

SH = ZoneInfo("Asia/Shanghai")
MON_10 = datetime(2025, 3, 3, 10, 0, tzinfo=SH)  # an ordinary working Monday
MON_2330 = datetime(2025, 3, 3, 23, 30, tzinfo=SH)
SAT_10 = datetime(2025, 3, 8, 10, 0, tzinfo=SH)  # weekend
NATIONAL_DAY = datetime(2025, 10, 1, 10, 0, tzinfo=SH)  # public holiday
MAKEUP_SUN = datetime(2025, 9, 28, 10, 0, tzinfo=SH)  # a Sunday worked in exchange (调休)
P011 = (116.394467, 39.928105)  # 草河北路, street 110199011, cell 110199011003003
P001 = (116.391718, 39.953719)  # 美苑东街, street 110199001
P002 = (116.40763, 39.963818)  # 春亭街, street 110199002


@dataclass
class S:
    id: str
    report: ReportReceived
    expect: dict[str, Any]
    primaries: list[OpenPrimary] = field(default_factory=list)


_n = 0


def rpt(
    text: str = "",
    *,
    hint: str | CategoryRef | None = None,
    channel: str = "patrol",
    at: datetime = MON_10,
    point: tuple[float, float] | None = P011,
    crs: str = "WGS84",
    address: str | None = None,
    **extra: Any,
) -> ReportReceived:
    global _n
    _n += 1
    if isinstance(hint, str):
        hint = CategoryRef(scheme="taxonomy", code=hint)
    place: dict[str, Any] = {"address": address} if address else {}
    if point is not None:
        place["point"] = {"lon": point[0], "lat": point[1], "crs": crs}
    return ReportReceived.model_validate(
        {
            "report_id": f"r{_n:04d}",
            "channel": channel,
            "reporter": {"kind": "citizen"},
            "text": text,
            "category_hint": hint.model_dump() if hint else None,
            "place": place,
            "received_at": at,
            **extra,
        }
    )


def offset(p: tuple[float, float], east_m: float, north_m: float = 0.0) -> tuple[float, float]:
    dlat = north_m / 111_320
    dlon = east_m / (111_320 * math.cos(math.radians(p[1])))
    return p[0] + dlon, p[1] + dlat


def routed(
    category: str,
    department: str,
    profile: str,
    *,
    rule: str = "taxonomy-default",
    priority: str = "normal",
    **more: Any,
) -> dict[str, Any]:
    return {
        "outcome": "routed",
        "category": category,
        "department": department,
        "profile": profile,
        "rule": rule,
        "priority": priority,
        **more,
    }


SCENARIOS: list[S] = []

# -- A. every kind of department: taxonomy defaults for a patrol report by day ---------------------------------
DEFAULTS = [
    ("C0101", "ZLS", "component-A", "normal"),
    ("C0102", "PS", "component-A", "normal"),
    ("C0103", "PS", "component-A", "normal"),
    ("C0104", "PS", "component-A", "normal"),
    ("C0105", "GD", "component-A", "normal"),
    ("C0106", "SZ", "component-A", "normal"),
    ("C0107", "CGW", "component-A", "normal"),
    ("C0110", "CGW", "component-A", "normal"),
    ("C0111", "RQ", "component-A", "normal"),
    ("C0112", "JJ", "component-A", "normal"),
    ("C0113", "SZ", "component-A", "normal"),
    ("C0115", "YJ", "component-A", "normal"),
    ("C0116", "GD", "component-A", "normal"),
    ("C0118", "SZ", "component-B", "normal"),
    ("C0121", "SCJG", "component-C", "normal"),
    ("C0122", "CGW", "component-C", "normal"),
    ("C0126", "JJ", "component-B", "normal"),
    ("C0201", "JJ", "component-C", "normal"),
    ("C0207", "JJ", "component-A", "normal"),
    ("C0209", "SZ", "component-B", "normal"),
    ("C0215", "JD110199011", "component-C", "normal"),
    ("C0220", "SZ", "component-B", "normal"),
    ("C0301", "HW", "component-B", "normal"),
    ("C0305", "CGZF", "component-B", "normal"),
    ("C0306", "STHJ", "component-C", "normal"),
    ("C0401", "YL", "component-B", "normal"),
    ("C0405", "YL", "component-C", "normal"),
    ("C0501", "FG", "component-C", "normal"),
    ("C0505", "FG", "component-B", "normal"),
    ("C0601", "YJ", "component-A", "normal"),
    ("C0602", "FG", "component-B", "normal"),
    ("C0603", "PS", "component-C", "normal"),
    ("C0605", "JD110199011", "component-C", "normal"),
    ("I0101", "CGZF", "incident-C", "normal"),
    ("I0102", "HW", "incident-B", "normal"),
    ("I0105", "PS", "incident-B", "normal"),
    ("I0201", "CGZF", "incident-B", "normal"),
    ("I0302", "STHJ", "incident-B", "normal"),
    ("I0305", "SZ", "incident-B", "normal"),
    ("I0401", "SZ", "incident-A", "high"),
    ("I0402", "ZLS", "incident-A", "high"),
    ("I0406", "PS", "incident-A", "high"),
    ("I0408", "YJ", "incident-A", "high"),
    ("I0409", "GD", "incident-A", "high"),
    ("I0501", "CGZF", "incident-A", "normal"),
    ("I0502", "JD110199011", "incident-B", "normal"),
    ("I0505", "JJ", "incident-A", "normal"),
    ("I0506", "JD110199011", "incident-B", "normal"),
    ("I0601", "JD110199011", "incident-C", "normal"),
    ("I0602", "STHJ", "incident-B", "normal"),
    ("I0603", "FG", "incident-C", "normal"),
    ("I0607", "SCJG", "incident-C", "normal"),
    ("I0611", "STHJ", "incident-B", "normal"),  # 企业排污, added for real messages (docs/classifier.md)
    ("I0609", "CGW", "incident-B", "normal"),
]
for code, dept, profile, priority in DEFAULTS:
    SCENARIOS.append(
        S(
            f"default-{code}",
            rpt("巡查上报", hint=code),
            routed(code, dept, profile, priority=priority, street="110199011", cell="110199011003003"),
        )
    )

# -- B. time: holidays and 调休 for sanitation --------------------------------------------------------------------
SANITATION = [
    ("I0102", "incident-B"),
    ("I0103", "incident-B"),
    ("I0104", "incident-B"),
    ("I0107", "incident-B"),
    ("C0301", "component-B"),
    ("C0307", "component-B"),
]
for code, profile in SANITATION:
    for label, at, holiday in (
        ("workday", MON_10, False),
        ("weekend", SAT_10, True),
        ("national-day", NATIONAL_DAY, True),
        ("makeup-sunday", MAKEUP_SUN, False),
    ):
        expect = (
            routed(code, "HW", "incident-A", rule="holiday-sanitation", priority="high")
            if holiday
            else routed(code, "HW", profile)
        )
        SCENARIOS.append(S(f"holiday-{code}-{label}", rpt("巡查上报", hint=code, at=at), expect))

# -- C. time: emergencies at night ------------------------------------------------------------------------------
EMERGENCIES = [
    ("I0401", "SZ", "incident-A", "high"),
    ("I0402", "ZLS", "incident-A", "high"),
    ("I0404", "PS", "incident-B", "normal"),
    ("I0405", "CGW", "incident-A", "high"),
    ("I0406", "PS", "incident-A", "high"),
    ("I0407", "HW", "incident-A", "high"),
    ("I0408", "YJ", "incident-A", "high"),
    ("I0409", "GD", "incident-A", "high"),
    ("I0410", "YL", "incident-A", "high"),
    ("I0412", "JJ", "incident-A", "high"),
    ("I0413", "GD", "incident-A", "high"),
    ("I0414", "ZLS", "incident-B", "normal"),
]
for code, dept, profile, priority in EMERGENCIES:
    SCENARIOS.append(S(f"night-{code}-day", rpt("巡查上报", hint=code), routed(code, dept, profile, priority=priority)))
    SCENARIOS.append(
        S(
            f"night-{code}-night",
            rpt("巡查上报", hint=code, at=MON_2330),
            routed(code, dept, "urgent-2h", rule="emergency-at-night", priority="urgent"),
        )
    )
for label, at, night in (
    ("2159", MON_10.replace(hour=21, minute=59), False),
    ("2200", MON_10.replace(hour=22), True),
    ("0559", MON_10.replace(hour=5, minute=59), True),
    ("0600", MON_10.replace(hour=6), False),
):
    expect = (
        routed("I0401", "SZ", "urgent-2h", rule="emergency-at-night", priority="urgent")
        if night
        else routed("I0401", "SZ", "incident-A", priority="high")
    )
    SCENARIOS.append(S(f"night-edge-{label}", rpt("巡查上报", hint="I0401", at=at), expect))
SCENARIOS.append(
    S(
        "night-spring-festival",
        rpt("巡查上报", hint="I0402", at=datetime(2025, 1, 29, 23, 0, tzinfo=SH)),
        routed("I0402", "ZLS", "urgent-2h", rule="emergency-at-night", priority="urgent"),
    )
)

# -- D. construction noise by night, by channel ------------------------------------------------------------------
NO_CLASS: dict[str, Any] = {}
GENERAL: dict[str, Any] = {"hotline_class": "general"}
for channel, extra in (("patrol", NO_CLASS), ("hotline", GENERAL)):
    day_expect = (
        routed("I0301", "CGZF", "1515-general", rule="hotline-general")
        if channel == "hotline"
        else routed("I0301", "CGZF", "incident-B")
    )
    SCENARIOS.append(S(f"noise-{channel}-day", rpt("施工噪音", hint="I0301", channel=channel, **extra), day_expect))
    SCENARIOS.append(
        S(
            f"noise-{channel}-night",
            rpt("施工噪音", hint="I0301", channel=channel, at=MON_2330, **extra),
            routed("I0301", "CGZF", "incident-A", rule="night-construction-noise", priority="high"),
        )
    )

# -- E. keywords: a missing manhole cover is urgent, a broken one is not ---------------------------------------
COVERS = {
    "C0101": "ZLS",
    "C0102": "PS",
    "C0103": "PS",
    "C0104": "PS",
    "C0105": "GD",
    "C0106": "SZ",
    "C0107": "CGW",
    "C0108": "CGW",
    "C0109": "CGW",
    "C0110": "CGW",
    "C0111": "RQ",
    "C0112": "JJ",
    "C0113": "SZ",
    "C0114": "RQ",
}
for code, dept in COVERS.items():
    SCENARIOS.append(
        S(
            f"cover-{code}-missing",
            rpt("井盖丢失了，很危险", hint=code),
            routed(code, dept, "urgent-2h", rule="manhole-cover-missing", priority="urgent"),
        )
    )
    SCENARIOS.append(S(f"cover-{code}-broken", rpt("井盖破损松动", hint=code), routed(code, dept, "component-A")))

for code in ("I0501", "I0508", "I0112"):
    SCENARIOS.append(
        S(
            f"school-{code}-gate",
            rpt("小学门口有摊贩", hint=code),
            routed(code, "CGZF", "incident-A", rule="school-gate-vending", priority="high"),
        )
    )
    SCENARIOS.append(S(f"school-{code}-street", rpt("路边有摊贩", hint=code), routed(code, "CGZF", "incident-A")))

for n, text in enumerate(("有人站在楼顶要跳楼", "他说要轻生", "店里有人持刀吵架")):
    SCENARIOS.append(S(f"life-safety-{n}", rpt(text, hint="C0101"), {"outcome": "manual", "rule": "life-safety-words"}))

# -- F. place: streets that whistle on illegal building ----------------------------------------------------------
for street, point in (("110199001", P001), ("110199002", P002)):
    office = f"JD{street}"
    for channel, extra in (("patrol", NO_CLASS), ("hotline", GENERAL)):
        SCENARIOS.append(
            S(
                f"whistle-{street}-{channel}",
                rpt("私搭乱建", hint="I0101", point=point, channel=channel, **extra),
                routed(
                    "I0101",
                    office,
                    "1515-complex",
                    rule="whistle-illegal-building",
                    whistle=["CGZF", "FG", "SZ"],
                    street=street,
                ),
            )
        )
SCENARIOS.append(
    S(
        "whistle-other-street-patrol",
        rpt("私搭乱建", hint="I0101"),
        routed("I0101", "CGZF", "incident-C", whistle=[], street="110199011"),
    )
)
SCENARIOS.append(
    S(
        "whistle-other-street-hotline",
        rpt("私搭乱建", hint="I0101", channel="hotline", hotline_class="general"),
        routed("I0101", "CGZF", "1515-general", rule="hotline-general", whistle=[]),
    )
)


def hotline_leaf(path: str) -> CategoryRef:
    return CategoryRef(scheme="hotline", code=path, name=path.rsplit("/", 1)[-1])


# -- G. the 12345 hotline: leaves of its category tree, addresses only, 1515 classes ------------------------------
LEAVES = [
    ("城乡建设/城乡规划/违章建筑", "I0101", "CGZF", "normal"),
    ("城乡建设/城市建设和市政管理/冬季采暖", "I0609", "CGW", "normal"),
    ("城乡建设/住房保障与房地产/物业服务", "I0606", "FG", "normal"),
    ("城乡建设/住房保障与房地产/房屋租赁", "I0603", "FG", "normal"),
    ("卫生计生/食品药品监管/食品安全", "I0607", "SCJG", "normal"),
    ("政法/交通管理/交通事故", "I0412", "JJ", "high"),
    ("商贸旅游/市场监管/物价监督", "I0608", "SCJG", "normal"),
    ("民政/社会服务/生活无着人员救助", "I0502", "JD110199011", "normal"),
    ("环境保护/环保管理/环境监测", "C0306", "STHJ", "normal"),
    ("城乡建设/国有土地上房屋征收与补偿/城镇危房改造", "C0505", "FG", "normal"),
]
for path, code, dept, priority in LEAVES:
    for klass in ("general", "complex"):
        report = rpt(
            "市民来电反映情况",
            hint=hotline_leaf(path),
            channel="hotline",
            point=None,
            address="演示区草河北路12号",
            hotline_class=klass,
        )
        if klass == "complex" and code in ("I0603", "I0606"):
            expect = routed(
                code,
                "JD110199011",
                "1515-complex",
                rule="whistle-complex-neighbourhood",
                priority=priority,
                whistle=["FG", "SCJG"],
                street="110199011",
            )
        else:
            expect = routed(
                code,
                dept,
                f"1515-{klass}",
                rule=f"hotline-{klass}",
                priority=priority,
                street="110199011",
                cell="110199011003003",
            )
        SCENARIOS.append(S(f"hotline-{code}-{klass}", report, expect))
SCENARIOS += [
    S(
        "hotline-among-sanitation",
        rpt(
            "草河北路暴露垃圾没人清理，臭味很大",
            channel="hotline",
            point=None,
            hint=hotline_leaf("城乡建设/城市建设和市政管理/环境卫生"),
            address="草河北路",
            hotline_class="general",
        ),
        routed("I0102", "HW", "1515-general", rule="hotline-general"),
    ),
    S(
        "hotline-among-gas",
        rpt(
            "楼道里燃气泄漏，煤气味很浓",
            channel="hotline",
            point=None,
            hotline_class="general",
            hint=hotline_leaf("城乡建设/城市建设和市政管理/燃气供应"),
            address="草河北路",
        ),
        routed("I0403", "RQ", "urgent-2h", rule="gas-leak", priority="urgent", whistle=["YJ", "JD110199011"]),
    ),
    S(
        "hotline-among-water",
        rpt(
            "停水一整天了，没有通知",
            channel="hotline",
            point=None,
            hotline_class="general",
            hint=hotline_leaf("城乡建设/城市建设和市政管理/自来水供应"),
            address="草河北路",
        ),
        routed("I0414", "ZLS", "1515-general", rule="hotline-general"),
    ),
    S(
        "hotline-among-streetlight",
        rpt(
            "路灯不亮了，晚上黑乎乎的",
            channel="hotline",
            point=None,
            hint=hotline_leaf("城乡建设/城市建设和市政管理/城市公共设施"),
            address="草河北路",
            hotline_class="general",
        ),
        routed("C0118", "SZ", "1515-general", rule="hotline-general"),
    ),
    S(
        "hotline-leaf-queue",
        rpt(
            "反映干部作风问题",
            channel="hotline",
            point=None,
            address="草河北路",
            hint=hotline_leaf("党务政务/党的建设/作风建设"),
            hotline_class="general",
        ),
        {"outcome": "manual"},
    ),
    S(
        "hotline-text-landmark",
        rpt(
            "欣庄菜市场门口有人占道摆摊卖菜",
            channel="hotline",
            point=None,
            address="欣庄菜市场",
            hotline_class="general",
        ),
        routed("I0508", "CGZF", "1515-general", rule="hotline-general", street="110199011", cell="110199011009022"),
    ),
    S(
        "hotline-text-complex",
        rpt("中江南街上水井盖丢失了", channel="hotline", point=None, address="中江南街", hotline_class="complex"),
        routed("C0101", "ZLS", "urgent-2h", rule="manhole-cover-missing", priority="urgent", street="110199011"),
    ),
    S(
        "hotline-address-in-text",
        rpt("瑞峰路有人在路边露天烧烤，烟很大", channel="hotline", point=None, hotline_class="general"),
        routed("I0112", "CGZF", "1515-general", rule="hotline-general", street="110199008"),
    ),
]

# -- H. IoT alarms: the device's owner, its severity, its kind ---------------------------------------------------
DEVICES = {
    "SMK-0001": (116.41586, 39.930265),
    "GAS-0001": (116.408016, 39.904089),
    "WL-0001": (116.393419, 39.923917),
    "MH-0001": (116.402928, 39.939619),
    "MH-0002": (116.418342, 39.916354),
    "MH-0003": (116.424813, 39.956584),
    "MH-0011": (116.430291, 39.917743),
    "MH-0013": (116.388634, 39.895025),
    "MH-9999": (116.402928, 39.939619),
}  # not in the device registry: owner unknown
ALARMS = {"SMK": "smoke", "GAS": "gas", "WL-": "water_level", "MH-": "manhole_tilt"}


def alarm(device: str, severity: str, at: datetime = MON_10) -> ReportReceived:
    kind = ALARMS[device[:3]]
    return rpt(
        f"{device} 报警",
        hint=CategoryRef(scheme="iot", code=kind),
        channel="iot",
        point=DEVICES[device],
        at=at,
        severity=severity,
        urgency="urgent" if severity == "critical" else "normal",
        attributes={"device_id": device},
        reporter={"kind": "device", "id": device},
    )


SCENARIOS += [
    S(
        "iot-smoke-critical",
        alarm("SMK-0001", "critical"),
        routed("I0408", "YJ", "urgent-2h", rule="critical-alarm", priority="urgent", street="110199008"),
    ),
    S("iot-smoke-major", alarm("SMK-0001", "major"), routed("I0408", "YJ", "incident-A", priority="high")),
    S(
        "iot-smoke-minor-night",
        alarm("SMK-0001", "minor", MON_2330),
        routed("I0408", "YJ", "urgent-2h", rule="emergency-at-night", priority="urgent"),
    ),
    S(
        "iot-gas-critical",
        alarm("GAS-0001", "critical"),
        routed("I0403", "RQ", "urgent-2h", rule="critical-alarm", priority="urgent", whistle=[]),
    ),
    S(
        "iot-gas-major",
        alarm("GAS-0001", "major"),
        routed("I0403", "RQ", "urgent-2h", rule="gas-leak", priority="urgent", whistle=["YJ", "JD110199015"]),
    ),
    S("iot-water-level", alarm("WL-0001", "minor"), routed("I0406", "PS", "incident-A", priority="high")),
    S("iot-cover-water-supply", alarm("MH-0001", "minor"), routed("C0101", "ZLS", "component-A")),
    S("iot-cover-drainage", alarm("MH-0002", "minor"), routed("C0102", "PS", "component-A")),
    S("iot-cover-roads", alarm("MH-0003", "minor"), routed("C0106", "SZ", "component-A")),
    S("iot-cover-power", alarm("MH-0011", "minor"), routed("C0105", "GD", "component-A")),
    S("iot-cover-gas", alarm("MH-0013", "major"), routed("C0111", "RQ", "component-A", priority="high")),
    S("iot-cover-owner-unknown", alarm("MH-9999", "major"), {"outcome": "manual", "rule": "classification"}),
]

# -- I. video alerts and Open311 requests: the channel's own codes -----------------------------------------------
CAMERA = (116.425085, 39.94406)  # CAM-0002, street 110199009
for code, name, expect_code, dept, profile in (
    ("0401", "无照经营游商", "I0501", "CGZF", "incident-A"),
    ("0102", "暴露垃圾", "I0102", "HW", "incident-B"),
    ("0405", "机动车乱停放", "I0505", "JJ", "incident-A"),
    ("0103", "积存垃圾渣土", "I0103", "HW", "incident-B"),
):
    SCENARIOS.append(
        S(
            f"video-intake-hint-{code}",
            rpt(
                "视频智能识别告警",
                channel="video",
                point=CAMERA,
                hint=CategoryRef(scheme="taxonomy", code=code, name=name),
            ),
            routed(expect_code, dept, profile, street="110199009"),
        )
    )
for algorithm, expect_code, dept, profile in (
    ("street_vending", "I0501", "CGZF", "incident-A"),
    ("overflowing_bin", "C0307", "HW", "component-B"),
    ("piled_materials", "I0511", "CGZF", "incident-B"),
):
    SCENARIOS.append(
        S(
            f"video-algorithm-{algorithm}",
            rpt("", channel="video", point=CAMERA, hint=CategoryRef(scheme="video", code=algorithm)),
            routed(expect_code, dept, profile),
        )
    )
SCENARIOS += [
    S(
        "open311-pothole",
        rpt("big pothole", channel="open311", hint=CategoryRef(scheme="open311", code="pothole")),
        routed("C0220", "SZ", "component-B"),
    ),
    S(
        "open311-streetlight",
        rpt("light out", channel="open311", hint=CategoryRef(scheme="open311", code="streetlight")),
        routed("C0118", "SZ", "component-B"),
    ),
    S(
        "open311-cover-among",
        rpt(
            "manhole cover missing 上水井盖丢了",
            channel="open311",
            hint=CategoryRef(scheme="open311", code="manhole_cover"),
        ),
        routed("C0101", "ZLS", "urgent-2h", rule="manhole-cover-missing", priority="urgent"),
    ),
]
# A manhole cover whose owner nobody names goes to the dispatchers, whatever the channel (README promise).
for channel, hint in (
    ("open311", CategoryRef(scheme="open311", code="manhole_cover")),
    ("wechat", None),
    ("hotline", None),
    ("patrol", None),
):
    for text in ("井盖丢了", "井盖破损", "路口的窨井盖子不见了，很危险"):
        SCENARIOS.append(
            S(
                f"cover-owner-unclear-{channel}-{text}",
                rpt(text, channel=channel, hint=hint),
                {"outcome": "manual", "rule": "classification"},
            )
        )
SCENARIOS.append(
    S(
        "cover-owner-named-wechat",
        rpt("小区门口的雨水井盖丢了", channel="wechat"),
        routed("C0103", "PS", "urgent-2h", rule="manhole-cover-missing", priority="urgent"),
    )
)


# -- J. GCJ-02 and BD-09 points 2 m inside a cell, next to its neighbour ------------------------------------------
def border_points(count: int) -> list[tuple[str, str, tuple[float, float]]]:
    """(cell, neighbour, WGS-84 point 2 m inside the cell from the middle of their shared border), deterministic."""
    cells = AreaIndex.from_geojson(RouterSettings().district_dir / "cells.geojson", key="code")
    areas = sorted(cells, key=lambda a: a.key)
    tree = shapely.STRtree([a.geometry for a in areas])
    out: list[tuple[str, str, tuple[float, float]]] = []
    for a in areas[:: len(areas) // (count * 2)]:
        for i in sorted(tree.query(a.geometry, predicate="intersects")):
            b = areas[int(i)]
            shared = a.geometry.boundary.intersection(b.geometry.boundary)
            if b.key == a.key or not isinstance(shared, LineString | MultiLineString) or shared.length == 0:
                continue
            mid = shared.interpolate(0.5, normalized=True)
            inside = a.geometry.representative_point()
            kx = 111_320 * math.cos(math.radians(mid.y))
            length_m = math.hypot((inside.x - mid.x) * kx, (inside.y - mid.y) * 111_320)
            p = Point(mid.x + (inside.x - mid.x) * 2 / length_m, mid.y + (inside.y - mid.y) * 2 / length_m)
            if a.geometry.contains(p) and b.geometry.distance(p) * 111_320 < 5:
                out.append((a.key, b.key, (p.x, p.y)))
                break
        if len(out) == count:
            break
    return out


BORDERS = border_points(20)
for cell, neighbour, (lon, lat) in BORDERS:
    for crs in (Crs.GCJ02, Crs.BD09):
        x, y = from_wgs84(lon, lat, crs)
        SCENARIOS.append(
            S(
                f"border-{crs.value}-{cell}-{neighbour}",
                rpt("巡查上报", hint="C0118", point=(x, y), crs=crs.value),
                routed("C0118", "SZ", "component-B", cell=cell),
            )
        )

# -- K. duplicates (并案): same category, radius and window per category, only while open ------------------------


def primary(
    report_id: str, code: str, point: tuple[float, float], at: datetime, case: str | None = "case-1"
) -> OpenPrimary:
    return OpenPrimary(report_id, code, point[0], point[1], at, case)


H = timedelta(hours=1)
SCENARIOS += [
    S(
        "dup-near",
        rpt("暴露垃圾", hint="I0102"),
        {"outcome": "merged", "primary": "p1"},
        [primary("p1", "I0102", offset(P011, 20), MON_10 - 2 * H)],
    ),
    S(
        "dup-beyond-radius",
        rpt("暴露垃圾", hint="I0102"),
        routed("I0102", "HW", "incident-B"),
        [primary("p1", "I0102", offset(P011, 60), MON_10 - 2 * H)],
    ),
    S(
        "dup-beyond-window",
        rpt("暴露垃圾", hint="I0102"),
        routed("I0102", "HW", "incident-B"),
        [primary("p1", "I0102", offset(P011, 20), MON_10 - 49 * H)],
    ),
    S(
        "dup-other-category",
        rpt("积存垃圾", hint="I0103"),
        routed("I0103", "HW", "incident-B"),
        [primary("p1", "I0102", offset(P011, 5), MON_10 - H)],
    ),
    # decided after a report that came later (another partition was faster): it joins that case
    S(
        "dup-later-primary",
        rpt("暴露垃圾", hint="I0102"),
        {"outcome": "merged", "primary": "p1"},
        [primary("p1", "I0102", offset(P011, 5), MON_10 + H)],
    ),
    S(
        "dup-later-primary-past-window",
        rpt("暴露垃圾", hint="I0102"),
        routed("I0102", "HW", "incident-B"),
        [primary("p1", "I0102", offset(P011, 5), MON_10 + 49 * H)],
    ),
    S(
        "dup-nearest-wins",
        rpt("暴露垃圾", hint="I0102"),
        {"outcome": "merged", "primary": "p2"},
        [primary("p1", "I0102", offset(P011, 30), MON_10 - H), primary("p2", "I0102", offset(P011, -10), MON_10 - H)],
    ),
    S(
        "dup-earliest-on-tie",
        rpt("暴露垃圾", hint="I0102"),
        {"outcome": "merged", "primary": "p1"},
        [
            primary("p2", "I0102", offset(P011, 10), MON_10 - H),
            primary("p1", "I0102", offset(P011, -10), MON_10 - 3 * H),
        ],
    ),
    S(
        "dup-cover-weeks-later",
        rpt("井盖破损", hint="C0101"),
        {"outcome": "merged", "primary": "p1"},
        [primary("p1", "C0101", offset(P011, 10), MON_10 - 20 * 24 * H)],
    ),
    S(
        "dup-cover-next-one",
        rpt("井盖破损", hint="C0101"),
        routed("C0101", "ZLS", "component-A"),
        [primary("p1", "C0101", offset(P011, 20), MON_10 - H)],
    ),
    S(
        "dup-vendor-moved-on",
        rpt("游商", hint="I0501"),
        {"outcome": "merged", "primary": "p1"},
        [primary("p1", "I0501", offset(P011, 0, 70), MON_10 - 5 * H)],
    ),
    S(
        "dup-vendor-next-day",
        rpt("游商", hint="I0501"),
        routed("I0501", "CGZF", "incident-A"),
        [primary("p1", "I0501", offset(P011, 0, 70), MON_10 - 7 * H)],
    ),
    S(
        "dup-burst-main-street",
        rpt("爆管", hint="I0402"),
        {"outcome": "merged", "primary": "p1"},
        [primary("p1", "I0402", offset(P011, 140), MON_10 - H)],
    ),
    S(
        "dup-before-holiday-rule",
        rpt("暴露垃圾", hint="I0102", at=SAT_10),
        {"outcome": "merged", "primary": "p1"},
        [primary("p1", "I0102", offset(P011, 5), SAT_10 - H, case=None)],
    ),
    S(
        "dup-gcj-point-same-place",
        rpt("暴露垃圾", hint="I0102", point=from_wgs84(*offset(P011, 3), Crs.GCJ02), crs="GCJ02"),
        {"outcome": "merged", "primary": "p1"},
        [primary("p1", "I0102", P011, MON_10 - H)],
    ),
    # a merged caller keeps what it is owed: a complex 12345 ticket its 15 days, whatever the case it joins
    S(
        "dup-hotline-complex-keeps-its-class",
        rpt("暴露垃圾", hint="I0102", channel="hotline", hotline_class="complex"),
        {"outcome": "merged", "primary": "p1", "profile": "1515-complex", "hotline_class": "complex"},
        [primary("p1", "I0102", offset(P011, 5), MON_10 - H)],
    ),
    S(
        "dup-hotline-general",
        rpt("暴露垃圾", hint="I0102", channel="hotline", hotline_class="general"),
        {"outcome": "merged", "primary": "p1", "profile": "1515-general", "hotline_class": "general"},
        [primary("p1", "I0102", offset(P011, 5), MON_10 - H)],
    ),
    S(
        "dup-patrol-own-profile",
        rpt("暴露垃圾", hint="I0102"),
        {"outcome": "merged", "primary": "p1", "profile": "incident-B", "hotline_class": None},
        [primary("p1", "I0102", offset(P011, 5), MON_10 - H)],
    ),
    S(
        "dup-not-for-unclassified",
        rpt("今天天气怎么样"),
        {"outcome": "manual"},
        [primary("p1", "I0102", P011, MON_10 - H)],
    ),
]

# -- M. handling level (分级分层处置): by category, severity and place -------------------------------------------
COMMUNITY_011 = "110199011003"  # P011's community
for code, text in (("I0116", "宠物粪便没人清理"), ("I0206", "墙上乱涂乱画"), ("C0506", "楼道灯坏了")):
    for channel, extra in (("patrol", NO_CLASS), ("hotline", GENERAL)):
        profile = "1515-general" if channel == "hotline" else ("component-C" if code.startswith("C") else "incident-B")
        SCENARIOS.append(
            S(
                f"level-community-{code}-{channel}",
                rpt(text, hint=code, channel=channel, **extra),
                routed(
                    code,
                    f"WG{COMMUNITY_011}",
                    profile,
                    rule="small-things-community",
                    level=("community", COMMUNITY_011),
                ),
            )
        )
SCENARIOS.append(
    S(
        "level-community-major-stays-with-district",
        rpt("宠物粪便没人清理", hint="I0116", severity="major"),
        routed("I0116", "HW", "incident-B", rule="small-things-major"),
    )
)
for street, point in (("110199001", P001), ("110199002", P002)):
    SCENARIOS.append(
        S(
            f"level-street-{street}-flyers",
            rpt("有人散发传单", hint="I0204", point=point),
            routed("I0204", f"ZF{street}", "incident-B", rule="street-stationed-enforcement", level=("street", street)),
        )
    )
SCENARIOS.append(
    S("level-street-elsewhere-district", rpt("有人散发传单", hint="I0204"), routed("I0204", "CGZF", "incident-B"))
)

# -- L. what no rule can decide goes to the dispatchers ------------------------------------------------------------
SCENARIOS += [
    S(
        "manual-out-of-scope",
        rpt("我想咨询一下社保缴费的政策", channel="hotline", point=None, address="草河北路"),
        {"outcome": "manual", "rule": "classification"},
    ),
    S("manual-no-location", rpt("井盖破损", hint="C0101", point=None), {"outcome": "manual", "rule": "location"}),
    S(
        "manual-outside-district",
        rpt("井盖破损", hint="C0101", point=(116.2, 39.8)),
        {"outcome": "manual", "rule": "location"},
    ),
    S(
        "manual-unknown-address",
        rpt("井盖破损", hint="C0101", point=None, address="火星路1号"),
        {"outcome": "manual", "rule": "location"},
    ),
    S("manual-empty", rpt("", point=None), {"outcome": "manual", "rule": "classification"}),
]


def test_table_exercises_every_rule_and_outcome(rules: RuleSet) -> None:
    """Every rule of the demo rule set decides some row, so a rule that stops matching fails a row here."""
    ids = [s.id for s in SCENARIOS]
    assert len(ids) == len(set(ids))
    expected_rules = {s.expect.get("rule") for s in SCENARIOS}
    assert {r.id for r in rules.ordered} <= expected_rules
    assert {"taxonomy-default", "classification", "location"} <= expected_rules
    assert {s.expect["outcome"] for s in SCENARIOS} == {"routed", "manual", "merged"}
    for prefix in (
        "default-",
        "holiday-",
        "night-",
        "cover-",
        "whistle-",
        "hotline-",
        "iot-",
        "video-",
        "border-",
        "dup-",
        "manual-",
    ):
        assert any(i.startswith(prefix) for i in ids), prefix


def test_border_points_land_elsewhere_without_conversion(ref: ReferenceData) -> None:
    """The table's GCJ-02 rows only mean something if reading GCJ-02 as WGS-84 would pick another cell."""
    for cell, _, (lon, lat) in BORDERS:
        naive = ref.locator.cells.locate(*from_wgs84(lon, lat, Crs.GCJ02))
        assert naive is None or naive.key != cell


@pytest.mark.parametrize("s", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_routing(s: S, ref: ReferenceData, rules: RuleSet) -> None:
    d = route(s.report, ref, rules, InMemoryPrimaries(s.primaries), s.report.received_at + timedelta(minutes=1))
    e = s.expect
    body = d.body
    assert d.outcome == e["outcome"], d.reason
    if "rule" in e:
        assert d.rule_id == e["rule"], d.reason
    if d.outcome == "merged":
        assert isinstance(body, ReportMerged)
        assert body.primary_report_id == e["primary"]
        if "profile" in e:
            assert (body.deadline_profile, body.hotline_class) == (e["profile"], e["hotline_class"]), d.reason
        return
    if d.outcome == "manual":
        assert isinstance(body, ManualDispatchNeeded)
        assert body.reason
        return
    assert isinstance(body, RoutingDecided)
    assert body.category.code == e["category"], d.reason
    assert body.department_code == e["department"], d.reason
    assert body.deadline_profile == e["profile"], d.reason
    assert body.priority == e["priority"], d.reason
    assert body.rule.rule_id == d.rule_id and body.rule.ruleset_version == rules.version
    assert body.rule.reason
    if "whistle" in e:
        assert body.whistle == bool(e["whistle"])
        assert body.whistle_departments == e["whistle"]
    if "street" in e:
        assert body.grid.street_code == e["street"]
    if "cell" in e:
        assert body.grid.cell_code == e["cell"]
    assert (body.level, body.level_unit) == e.get("level", ("district", None)), d.reason
    if body.level != "district":
        assert f"level {body.level} {body.level_unit}" in body.rule.reason
    assert body.location is None or body.location.crs == Crs.WGS84
