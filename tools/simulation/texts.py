"""What people say: the problems citizens and inspectors report, in the words each channel uses.

Each problem names a class of the taxonomy (`shared/taxonomy`, GB/T 30428.2) and is weighted by how often
such problems come in; texts are put together from objects, complaints and the channel's own phrasing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    category_id: str
    """Taxonomy id, e.g. I0505 (incident 05-05, 机动车乱停放)."""
    weight: float
    objects: tuple[str, ...]
    complaints: tuple[str, ...]
    result: str
    """What the department reports when it has handled it."""
    complex_share: float = 0.08
    """Share of hotline tickets about it that the hotline files as complex (15 working days)."""
    urgent_share: float = 0.02


def _p(
    category_id: str,
    weight: float,
    objects: str,
    complaints: str,
    result: str,
    *,
    complex_share: float = 0.08,
    urgent_share: float = 0.02,
) -> Problem:
    return Problem(
        category_id,
        weight,
        tuple(objects.split("|")),
        tuple(complaints.split("|")),
        result,
        complex_share,
        urgent_share,
    )


PROBLEMS: tuple[Problem, ...] = (
    # incidents (事件)
    _p(
        "I0102",
        10,
        "生活垃圾|一堆垃圾袋|垃圾",
        "散落在路边没人清理|堆了好几天都发臭了|被风吹得到处都是",
        "已组织保洁人员清扫清运，现场恢复整洁",
    ),
    _p(
        "I0103",
        4,
        "建筑渣土|装修渣土|一大堆渣土",
        "堆在路边没有苫盖|占了半条人行道|尘土飞扬",
        "渣土已清运完毕，责令产生单位落实苫盖",
    ),
    _p("I0104", 3, "路面|人行道路面", "一大片油污|很久没人扫很脏|满地污渍", "已安排清洗路面"),
    _p("I0107", 3, "旧沙发|废旧床垫|一堆旧家具", "扔在楼道口好几天|堆在路边没人管", "大件垃圾已清运"),
    _p(
        "I0112",
        3,
        "烧烤摊|露天烧烤",
        "晚上烟熏火燎|油烟很大呛得人难受",
        "已劝导摊主停止露天烧烤并收缴烤炉",
        complex_share=0.2,
    ),
    _p("I0116", 2, "宠物粪便|狗粪便", "到处都是没人清理", "已清理并张贴文明养犬提示"),
    _p("I0201", 5, "小广告|办证小广告|牛皮癣广告", "贴满了墙面和电线杆|清理了又被贴上", "已清除小广告并对号码停机处理"),
    _p(
        "I0301",
        4,
        "夜间施工|工地",
        "半夜还在施工噪音很大|打桩声吵得睡不着",
        "已责令施工单位停止夜间施工并立案调查",
        complex_share=0.45,
    ),
    _p("I0302", 2, "工地|施工现场", "扬尘严重没有防尘网|运土车不冲洗", "已督促工地覆盖裸土并冲洗车辆"),
    _p("I0306", 2, "施工围挡|施工队", "占了整条辅路|占道施工没有手续", "已核查占道许可，督促缩减围挡范围"),
    _p("I0402", 2, "自来水管|供水管道", "破裂了水一直往外冒|爆管路面都淹了", "已关阀抢修，恢复供水", urgent_share=0.5),
    _p("I0403", 1, "燃气管道|天然气管道", "有很重的煤气味|疑似泄漏", "已关阀抢修，经检测无泄漏", urgent_share=0.8),
    _p("I0404", 4, "下水道|污水管道", "堵塞污水冒出来了|返水臭味很大", "已疏通管道，污水已退"),
    _p("I0406", 2, "路口|路面", "积水很深车过不去|下雨后积水一直不退", "已清掏雨水口，积水已排除", urgent_share=0.2),
    _p("I0410", 2, "大树|行道树", "被风刮倒压在路上|断枝挂在电线上", "已清理倒伏树木，恢复通行", urgent_share=0.3),
    _p("I0501", 7, "流动摊贩|推车卖水果的小贩|游商", "在路口摆摊|占道叫卖影响通行", "已劝离游商并进行宣传教育"),
    _p("I0504", 5, "临街商户|饭馆", "把桌椅摆到了人行道上|在店外经营占道", "已责令商户将物品收回店内"),
    _p(
        "I0505",
        8,
        "私家车|货车|机动车",
        "乱停乱放堵住了消防通道|停在人行道上|长期占道停放",
        "已对违停车辆贴单处罚并拖移",
    ),
    _p("I0506", 5, "共享单车|电动自行车", "乱停乱放挡住了盲道|堆满了人行道", "已清理规整车辆并通知运营企业"),
    _p("I0508", 4, "地摊|夜市摊", "占道经营影响行人通行|摆到了马路上", "已取缔占道摊点"),
    _p("I0511", 4, "杂物|建材", "堆在楼道和路边|乱堆乱放好久了", "已清理堆物，恢复通道"),
    _p(
        "I0512",
        3,
        "电动车|居民",
        "从楼上私拉电线飞线充电|在楼道里充电很危险",
        "已拆除飞线并宣传集中充电",
        complex_share=0.2,
    ),
    _p(
        "I0602",
        5,
        "广场舞|商户音响",
        "音响声音太大|晚上十点了还在放音乐",
        "已协调调低音量并约定活动时间",
        complex_share=0.4,
    ),
    _p(
        "I0603",
        2,
        "一套房子|出租屋",
        "被隔成十几间群租|群租人员进出杂乱",
        "已联合执法拆除隔断，清退群租",
        complex_share=0.6,
    ),
    _p("I0605", 3, "饭店|餐馆", "油烟直排熏得没法开窗|排烟管道对着居民楼", "已责令加装油烟净化设施", complex_share=0.4),
    _p("I0606", 2, "小区物业", "不作为垃圾没人管|乱收费", "已约谈物业公司并督促整改", complex_share=0.5),
    # components (部件)
    _p("C0101", 3, "上水井盖|自来水井盖", "丢失了|破损了|松动一踩就晃", "已更换新井盖", urgent_share=0.2),
    _p("C0102", 2, "污水井盖|排污井盖", "丢失了|碎了一角|下沉了", "已更换新井盖", urgent_share=0.2),
    _p("C0118", 5, "路灯|街灯", "不亮了|一闪一闪的|灯杆歪了", "已更换灯具，恢复照明"),
    _p("C0207", 2, "红绿灯|信号灯", "不亮了|一直黄灯闪", "已修复信号灯", urgent_share=0.3),
    _p("C0220", 4, "马路|路面", "出现一个大坑|坑洼不平", "已完成路面修补"),
    _p("C0221", 3, "步道砖|人行道地砖", "松动翘起|缺了好几块", "已重新铺装步道砖"),
    _p("C0307", 4, "垃圾桶|果皮箱", "满了没人倒|桶盖坏了", "已清运并更换垃圾桶"),
    _p("C0301", 2, "公厕|公共厕所", "很脏有异味|冲水坏了", "已保洁并维修冲水设备"),
    _p("C0305", 2, "广告牌|招牌", "松动摇摇欲坠|被风吹歪了", "已督促商户加固招牌", urgent_share=0.2),
    _p("C0402", 2, "行道树|路边的树", "树枝太低挡住行人|枯死了", "已修剪树枝"),
    _p("C0605", 1, "健身器材|健身设施", "损坏了|螺丝松动", "已维修健身器材"),
)

VAGUE = (
    "我家门口那个问题一直没人管，你们到底管不管",
    "上次反映的事情到现在也没解决，请再派人看看",
    "这边情况很复杂，说不清楚，请派人来现场看一下",
)
"""Tickets no rule can classify: they wait in the dispatchers' queue."""

_IMPACTS = (
    "",
    "影响居民出行",
    "存在安全隐患",
    "已经好几天了",
    "晚上尤其严重",
    "老人孩子经过很危险",
    "周边居民意见很大",
)
PLEAS = ("请尽快处理。", "希望相关部门管一管。", "盼复。", "请派人来看看。", "请相关部门核实处置。")
_HOTLINE_OPENERS = ("市民来电反映：", "来电人称，", "诉求人反映：", "市民来电：", "")
_PATROL_OPENERS = ("巡查发现", "网格员巡查发现", "")
_WECHAT_OPENERS = ("你好，", "随手拍：", "", "麻烦管一下，")

_HOTLINE_TREE = "城乡建设/城市建设和市政管理/"
HOTLINE_LEAVES = (  # the 12345 system's own category tree: (taxonomy id prefixes, leaf code, leaf path)
    (("I0402", "I0414", "C0101"), "1203118", "自来水供应"),
    (("I0403", "C0111"), "1203115", "燃气供应"),
    (("C04", "I0410"), "1203110", "园林绿化"),
    (("I0603", "I0606", "I0511"), "1203114", "小区管理"),
    (("I01", "C03"), "1203116", "环境卫生"),
    (("I05", "I02", "I03"), "1203105", "城管执法"),
    (("C01", "C02"), "1203107", "城市公共设施"),
)


def hotline_category(problem: Problem) -> dict[str, str] | None:
    """The leaf of the hotline's tree an operator would pick for this problem (None: they leave it empty)."""
    for prefixes, code, leaf in HOTLINE_LEAVES:
        if problem.category_id.startswith(prefixes):
            return {"code": code, "name": _HOTLINE_TREE + leaf}
    return None


SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"


def pick(rng: random.Random) -> Problem:
    return rng.choices(PROBLEMS, weights=[p.weight for p in PROBLEMS])[0]


def say(problem: Problem, address: str, channel: str, rng: random.Random) -> str:
    """One report's text: where, what, what is wrong, and (for citizens) why it matters and a plea."""
    what = rng.choice(problem.objects) + rng.choice(problem.complaints)
    if channel == "patrol":
        return f"{rng.choice(_PATROL_OPENERS)}{address}{what}"
    impact = rng.choice(_IMPACTS)
    tail = f"，{impact}" if impact else ""
    if channel == "wechat":
        return f"{rng.choice(_WECHAT_OPENERS)}{address}这边{what}{tail}"
    opener = rng.choice(_HOTLINE_OPENERS) if channel == "hotline" else ""
    return f"{opener}{address}{what}{tail}，{rng.choice(PLEAS)}"


def again(problem: Problem, address: str, rng: random.Random) -> str:
    """A second citizen about the same problem."""
    what = rng.choice(problem.objects) + rng.choice(problem.complaints)
    return f"{address}{what}，之前有人反映过还没处理，{rng.choice(PLEAS)}"


def caller_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(("先生", "女士"))


def phone(rng: random.Random) -> str:
    return rng.choice(("138", "139", "150", "186", "135", "177")) + f"{rng.randrange(10**8):08d}"


RETURN_REASONS = (
    "经核实不属于我单位职责范围，请重新派遣",
    "该点位产权不归我单位，建议派至属地街道",
    "非我单位管辖，请核实后改派",
)
EXTENSION_REASONS = (
    "需协调产权单位共同处置，申请延期",
    "需采购配件，预计数日内到货",
    "涉及多个部门，需联合执法",
    "天气原因无法施工，申请延期",
)
REFUSAL_REASONS = ("问题影响较大，请按原期限处置", "延期理由不充分")
VERIFY_FAILURES = ("现场复核问题仍然存在", "处置不彻底，仍有残留", "照片与现场不符，请重新处置")
VERIFY_PASSES = ("现场复核已整改到位", "经核查问题已解决", "")
WHISTLE_REASONS = ("问题反复出现，需多部门联合处置", "涉及多个部门职责，街道吹哨召集", "群众多次投诉，需联合执法")
CALLBACK_COMMENTS = {
    "satisfied": ("处理很及时，谢谢", "满意", "已经解决了"),
    "basic": ("解决了但是太慢了", "基本满意", "还行"),
    "unsatisfied": ("问题根本没解决", "过两天又这样了", "不满意，敷衍了事"),
}

REPORT_UP_REASONS = (
    "涉及违法建设，社区无执法权，请街道协调",
    "需多个部门联合处置，社区力量不足",
    "当事人拒不配合，需街道综合执法",
)
DELEGATE_REASONS = (
    "属地问题，请街道就近处置",
    "街道派驻力量可处置，下派街道",
)
