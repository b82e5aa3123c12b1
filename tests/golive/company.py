"""A service company's go-live workbook, as it would fill our template by hand: 3 networks (one
伞下店 under another), 20 engineers with home addresses but no coordinates, 5 products with
models and fault codes, 30 parts with opening stock, an engineer's van, which work needs a
certificate, and the rate card in force from today. Built with openpyxl, Chinese headings only."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook

PUDONG = "上海浦东服务中心"
CHUANSHA = "浦东川沙伞下店"
XUHUI = "徐汇授权服务站"
# The engineer auto-dispatch should pick for a washing machine in 徐汇区: the Xuhui station
# covers it and dispatches automatically; of its washer engineers this one lives in 徐汇区.
PICKED_PHONE = "13900001301"
PICKED_NAME = "徐建国"
PICKED_ACCOUNT = "xu.jianguo"
PUMP = "P-WM-PUMP"

NETWORKS: list[list[Any]] = [
    [
        "网点名称",
        "类型",
        "上级网点",
        "省",
        "市",
        "覆盖区县",
        "日接单能力",
        "联系人",
        "联系电话",
        "自动派单",
    ],
    [PUDONG, "自营", "", "上海", "上海", "浦东新区、闵行区", 60, "张敏", "13900001000", "否"],
    [CHUANSHA, "伞下店", PUDONG, "上海", "上海", "浦东新区", 15, "顾强", "13900001100", "否"],
    [XUHUI, "授权", "", "上海市", "上海市", "徐汇区、长宁区", 40, "周立", "021-64000000", "是"],
]

_SURNAMES = "王李张刘陈杨黄赵吴周孙马朱胡郭何林罗"
_ENGINEERS: list[tuple[str, str, str, str, str]] = [
    # (network, name, skills, home address, certificates)
    (XUHUI, PICKED_NAME, "洗衣机/维修/2、冰箱/维修/1", "徐汇区田林路200号", ""),
    (XUHUI, "汪海", "空调/维修/3、空调/安装/2", "徐汇区龙华中路", "高处作业/长期"),
    (XUHUI, "陆平", "洗衣机/维修/2", "闵行区莘庄镇", ""),
    (XUHUI, "钟伟", "热水器/维修/2、热水器/安装/2", "长宁区天山路", "燃气/RQ-3101/2029-06-30"),
    (XUHUI, "沈涛", "热水器/维修/2", "徐汇区斜土路", "燃气/2024-03-31"),
    (XUHUI, "韩磊", "冰箱/维修/2、厨电/维修/1", "长宁区仙霞路", ""),
]
for i, (net, skills, home) in enumerate(
    [
        (PUDONG, "洗衣机/维修/3、洗衣机/安装/2", "浦东新区张江镇"),
        (PUDONG, "空调/维修/2、空调/安装/3", "浦东新区花木街道"),
        (PUDONG, "冰箱/维修/2", "闵行区七宝镇"),
        (PUDONG, "热水器/维修/1", "浦东新区金桥镇"),
        (PUDONG, "厨电/维修/2、厨电/安装/2", "浦东新区陆家嘴"),
        (PUDONG, "洗衣机/维修/1", "闵行区梅陇镇"),
        (PUDONG, "空调/维修/1", "浦东新区北蔡镇"),
        (PUDONG, "冰箱/维修/1、洗衣机/维修/1", "浦东新区三林镇"),
        (CHUANSHA, "洗衣机/维修/2", "浦东新区川沙新镇"),
        (CHUANSHA, "空调/安装/2", "浦东新区川沙新镇"),
        (CHUANSHA, "冰箱/维修/1", "浦东新区唐镇"),
        (CHUANSHA, "厨电/维修/1", "浦东新区合庆镇"),
        (XUHUI, "空调/安装/1", "长宁区北新泾"),
        (XUHUI, "厨电/安装/2", "徐汇区康健新村"),
    ]
):
    _ENGINEERS.append((net, f"{_SURNAMES[i]}工{i + 1}", skills, home, ""))

ENGINEERS: list[list[Any]] = [
    [
        "手机号",
        "姓名",
        "所属网点",
        "登录账号",
        "技能(品类/服务/等级)",
        "常驻地址",
        "每日单量",
        "在职",
        "证书(名称/到期日)",
    ],
    *[
        [
            f"139000013{i + 1:02d}",
            name,
            net,
            PICKED_ACCOUNT if i == 0 else "",
            skills,
            home,
            6,
            "是",
            certs,
        ]
        for i, (net, name, skills, home, certs) in enumerate(_ENGINEERS)
    ],
]
assert ENGINEERS[1][0] == PICKED_PHONE

CERTIFICATE_RULES: list[list[Any]] = [
    ["品类", "服务类型", "所需证书"],
    ["热水器", "", "燃气"],
    ["空调", "安装", "高处作业"],
]
PRODUCTS: list[list[Any]] = [
    ["产品名称", "品类"],
    ["禾川滚筒洗衣机", "洗衣机"],
    ["禾川挂式空调", "空调"],
    ["禾川对开门冰箱", "冰箱"],
    ["禾川燃气热水器", "热水器"],
    ["禾川油烟机", "厨电"],
]
MODELS: list[list[Any]] = [
    ["型号编码", "产品名称", "型号名称", "整机保修(月)", "主要部件保修(月)"],
    ["HC-WD100", "禾川滚筒洗衣机", "滚筒 10kg", 12, 36],
    ["HC-WD80", "禾川滚筒洗衣机", "滚筒 8kg", 12, 36],
    ["HC-AC35", "禾川挂式空调", "挂机 1.5匹", 12, 72],
    ["HC-RF500", "禾川对开门冰箱", "对开门 500L", 12, 36],
    ["HC-GW16", "禾川燃气热水器", "16L 恒温", 12, 36],
    ["HC-RH90", "禾川油烟机", "侧吸 900", 12, 24],
]
FAULTS: list[list[Any]] = [
    ["型号编码", "故障码", "说明"],
    ["HC-WD100", "E21", "排水超时"],
    ["HC-WD100", "E30", "门锁故障"],
    ["HC-WD80", "E21", "排水超时"],
    ["HC-AC35", "F1", "室内温度传感器故障"],
    ["HC-AC35", "P4", "压缩机过热保护"],
    ["HC-RF500", "E5", "冷冻室传感器故障"],
    ["HC-GW16", "E1", "点火失败"],
    ["HC-GW16", "E6", "过热保护"],
    ["HC-RH90", "L1", "风机堵转"],
]

_PART_NAMES = {
    "洗衣机": ["排水泵", "主控板", "门锁", "进水阀", "电机", "皮带", "减震器"],
    "空调": ["温度传感器", "压缩机电容", "室内风机", "遥控器", "四通阀", "电子膨胀阀"],
    "冰箱": ["化霜加热器", "冷冻传感器", "门封条", "压缩机启动器", "风扇电机", "温控板"],
    "热水器": ["点火针", "风压开关", "水流传感器", "燃气比例阀", "主控板"],
    "厨电": ["风机电容", "油杯", "开关面板", "照明灯", "电机", "止回阀"],
}
_MODELS_OF = {
    "洗衣机": "HC-WD100、HC-WD80",
    "空调": "HC-AC35",
    "冰箱": "HC-RF500",
    "热水器": "HC-GW16",
    "厨电": "HC-RH90",
}
_CODES = {"洗衣机": "WM", "空调": "AC", "冰箱": "RF", "热水器": "GW", "厨电": "RH"}
PARTS: list[list[Any]] = [
    ["备件编码", "备件名称", "品类", "售价", "成本价", "适用型号", "旧件返还"]
]
for category, names in _PART_NAMES.items():
    for j, name in enumerate(names, start=1):
        code = PUMP if (category, j) == ("洗衣机", 1) else f"P-{_CODES[category]}-{j:02d}"
        price = 60 + 20 * j
        PARTS.append(
            [
                code,
                name,
                category,
                f"{price}.00",
                f"{price // 2}.00",
                _MODELS_OF[category],
                "是" if j % 2 else "否",
            ]
        )
assert len(PARTS) == 31

WAREHOUSES: list[list[Any]] = [
    ["仓库编码", "仓库名称", "类型", "所属网点", "工程师手机号"],
    ["WH-SH", "上海中心库", "上级库", "", ""],
    ["WH-PD", "浦东网点库", "网点库", PUDONG, ""],
    ["WH-XH", "徐汇网点库", "网点库", XUHUI, ""],
    ["VAN-XU", "徐建国随车库", "工程师库", XUHUI, PICKED_PHONE],
]
STOCK: list[list[Any]] = [
    ["仓库编码", "备件编码", "数量", "安全库存"],
    *[["WH-SH", row[0], 20, 5] for row in PARTS[1:]],
    ["WH-XH", PUMP, 4, 1],
    ["VAN-XU", PUMP, 2, 0],
]

RATE_CARD = "STD"
# In force from today (Shanghai), so the first job is priced by it: out-of-warranty repairs
# 80 for the visit including 60 minutes, 40 an hour beyond; the engineer earns 50 and 20.
RATE_CARDS: list[list[Any]] = [
    [
        "价目表编码",
        "价目表名称",
        "生效日期",
        "服务类型",
        "品类",
        "保内保外",
        "上门服务费",
        "含工时(分钟)",
        "超时每小时",
        "工程师计件",
        "工程师超时每小时",
    ],
    [
        RATE_CARD,
        "禾川标准收费 2027",
        datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat(),
        "维修",
        "*",
        "保外",
        "80",
        60,
        "40",
        "50",
        "20",
    ],
]

SHEETS: dict[str, list[list[Any]]] = {
    "网点": NETWORKS,
    "工程师": ENGINEERS,
    "证书要求": CERTIFICATE_RULES,
    "产品": PRODUCTS,
    "型号": MODELS,
    "故障码": FAULTS,
    "备件": PARTS,
    "仓库": WAREHOUSES,
    "库存": STOCK,
    "价目表": RATE_CARDS,
}


def xlsx(sheets: dict[str, list[list[Any]]] | None = None) -> bytes:
    """The workbook (the good one by default)."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, rows in (sheets or SHEETS).items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_errors() -> tuple[dict[str, list[list[Any]]], set[tuple[str, int, str]]]:
    """The book with five mistakes a person makes, each on a row nothing else depends on, and
    where the dry run must put each: (sheet, row in the file, column key)."""
    book = {k: [list(r) for r in v] for k, v in SHEETS.items()}
    # A district Shanghai does not have.
    book["网点"].append(
        ["长宁快修点", "授权", "", "上海", "上海", "长宁区、火星区", 5, "", "", "否"]
    )
    book["工程师"][3][4] = "洗衣机/清洗/2"  # not a service type
    book["工程师"][5][8] = "燃气"  # a certificate without its expiry
    book["备件"].append(["P-XX-99", "滤网", "洗衣机", "一百", "20", "HC-WD100", "否"])  # no number
    book["库存"][2][2] = -1  # negative opening stock
    return book, {
        ("网点", 5, "districts"),
        ("工程师", 4, "skills"),
        ("工程师", 6, "certificates"),
        ("备件", 32, "price"),
        ("库存", 3, "quantity"),
    }
