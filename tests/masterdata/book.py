"""A company's spreadsheets as they arrive: one workbook, a sheet per kind, Chinese headings
typed by hand (not our template's), built with openpyxl directly."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

NETWORKS: list[list[Any]] = [
    ["网点名称", "类型", "上级网点", "省", "市", "覆盖区县", "日接单能力", "联系人", "联系电话"],
    # The 伞下店 comes first: the import orders parents before their sub-outlets.
    [
        "浦东川沙伞下店",
        "伞下店",
        "浦东服务中心",
        "上海市",
        "上海",
        "浦东新区",
        10,
        "王五",
        "13900000003",
    ],
    ["浦东服务中心", "自营", "", "上海市", "上海", "浦东新区、闵行区", 40, "张三", "13900000001"],
    ["徐汇授权店", "授权", "", "上海市", "上海", "徐汇区、长宁区", 25, "李四", "021-64000000"],
]
ENGINEERS: list[list[Any]] = [
    ["手机号", "姓名", "所属网点", "技能(品类/服务/等级)", "常驻地址", "每日单量", "在职"],
    ["13800000001", "赵工", "浦东服务中心", "洗衣机/维修/3、空调/安装/2", "浦东新区张江", 6, "是"],
    ["13800000002", "钱工", "徐汇授权店", "空调/维修/2", "徐汇区漕河泾", 5, "是"],
    ["13800000003", "孙工", "浦东川沙伞下店", "洗衣机/维修/1", "浦东新区川沙", 4, "是"],
]
PRODUCTS: list[list[Any]] = [["产品名称", "品类"], ["滚筒洗衣机", "洗衣机"], ["挂式空调", "空调"]]
MODELS: list[list[Any]] = [
    ["型号编码", "产品名称", "型号名称", "整机保修(月)", "主要部件保修(月)"],
    ["WD-100", "滚筒洗衣机", "滚筒 10kg", 12, 36],
    ["AC-35", "挂式空调", "挂机 1.5匹", 12, 72],
]
FAULTS: list[list[Any]] = [
    ["型号编码", "故障码", "说明"],
    ["WD-100", "E1", "进水超时"],
    ["WD-100", "E3", "排水故障"],
    ["AC-35", "F1", "室内温度传感器故障"],
]
PARTS: list[list[Any]] = [
    ["备件编码", "备件名称", "品类", "售价", "成本价", "适用型号", "旧件返还"],
    ["P-PUMP", "排水泵", "洗衣机", "120.00", "60.00", "WD-100", "否"],
    ["P-BOARD", "主控板", "洗衣机", "380.50", "200", "WD-100", "是"],
    ["P-SENSOR", "温度传感器", "空调", "45", "20", "AC-35", "否"],
]
WAREHOUSES: list[list[Any]] = [
    ["仓库编码", "仓库名称", "类型", "所属网点", "工程师手机号"],
    ["WH-CENTRAL", "上海中心库", "上级库", "", ""],
    ["WH-PD", "浦东网点库", "网点库", "浦东服务中心", ""],
    ["VAN-ZHAO", "赵工随车库", "工程师库", "浦东服务中心", "13800000001"],
]
STOCK: list[list[Any]] = [
    ["仓库编码", "备件编码", "数量", "安全库存"],
    ["WH-CENTRAL", "P-PUMP", 50, 10],
    ["WH-CENTRAL", "P-BOARD", 20, 5],
    ["WH-PD", "P-PUMP", 8, 2],
    ["VAN-ZHAO", "P-PUMP", 2, 0],
]
SHEETS: dict[str, list[list[Any]]] = {
    "网点": NETWORKS,
    "工程师": ENGINEERS,
    "产品": PRODUCTS,
    "型号": MODELS,
    "故障码": FAULTS,
    "备件": PARTS,
    "仓库": WAREHOUSES,
    "库存": STOCK,
}


def xlsx(sheets: dict[str, list[list[Any]]] | None = None) -> bytes:
    """The workbook of these sheets (the good company book by default)."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, rows in (sheets or SHEETS).items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def changed(sheet: str, row: int, column: int, value: Any) -> dict[str, list[list[Any]]]:
    """The good book with one cell changed (row 0 is the heading)."""
    copy = {k: [list(r) for r in v] for k, v in SHEETS.items()}
    copy[sheet][row][column] = value
    return copy
