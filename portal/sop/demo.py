"""A starter library of standard jobs for the demo catalogue's product categories.

`seed_sops(session)` adds the ones whose code is not there yet (run it twice, get them once)
and returns how many it added. The labour hours follow common after-sales practice for
household appliances; the part codes are illustrative (the parts catalogue is matched by code).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.assets.models import ProductModel
from portal.database import utcnow
from portal.sop.models import StandardJob

LOTO = "断电并拔下电源插头后再拆机，确认无电后方可操作"
GAS = "关闭燃气总阀，用检漏液检查所有接口，严禁明火检漏"
HEIGHT = "室外作业须系好安全带并挂在牢固的结构上，二楼以上禁止无保护探身"

# (code, title, service type, category, model code or "", steps, safety notes, parts, hours)
SopRow = tuple[
    str, str, str, str, str, tuple[str, ...], tuple[str, ...], tuple[tuple[str, str, int], ...], str
]
SOPS: tuple[SopRow, ...] = (
    (
        "SOP-WM-RP",
        "洗衣机通用维修",
        "repair",
        "洗衣机",
        "",
        (
            "核对机身条码与工单型号，询问故障现象并读取故障代码",
            "运行自检程序，复现故障",
            "断电后拆下后盖/顶盖，按故障代码检查电机、门锁、排水泵及线束",
            "更换损坏部件并紧固线束插头",
            "通电试运行一个快洗程序，确认进水、洗涤、排水、脱水正常",
            "清理现场，向客户讲解使用注意事项",
        ),
        (LOTO, "机内可能有存水，拆排水泵前先放水并垫好毛巾"),
        (),
        "1.00",
    ),
    (
        "SOP-WM100-RP",
        "WM-100 滚筒不转 / E21 维修",
        "repair",
        "洗衣机",
        "WM-100",
        (
            "读取故障代码，E21 为电机驱动异常",
            "断电，拆后盖，检查电机碳刷与霍尔传感器插头",
            "测量电机绕组阻值，异常则更换电机",
            "检查变频板输出，必要时更换电脑板",
            "复装后空载运行脱水程序 3 分钟，无异响、无报警",
        ),
        (LOTO, "滚筒较重，拆卸电机时两人配合，防止砸伤"),
        (("WM-MOTOR-100", "变频电机", 1),),
        "1.50",
    ),
    (
        "SOP-WM-MT",
        "洗衣机深度保养",
        "maintenance",
        "洗衣机",
        "",
        (
            "检查进水管、排水管有无老化、渗漏",
            "清洗进水阀滤网和排水泵过滤器",
            "拆洗门封圈褶皱处污垢，检查有无破损",
            "放入专用槽清洁剂运行桶自洁程序",
            "检查底脚水平，调整减震",
        ),
        (LOTO,),
        (),
        "1.00",
    ),
    (
        "SOP-AC-IN",
        "挂式/柜式空调标准安装",
        "installation",
        "空调",
        "",
        (
            "与客户确认内外机位置，检查墙体承重及电源（独立回路、可靠接地）",
            "打过墙孔（内高外低），固定挂板/外机支架",
            "连接铜管、排水管和信号线，包扎并穿墙",
            "抽真空不少于 15 分钟，保压检漏",
            "打开阀门，试机制冷制热各 10 分钟，测量出风温差",
            "封堵墙孔，清理现场，讲解遥控器使用",
        ),
        (HEIGHT, "电钻作业佩戴护目镜，打孔前探测墙内管线", LOTO),
        (("AC-PIPE-3M", "铜管 3 米", 1), ("AC-BRKT-OUT", "外机支架", 1)),
        "2.00",
    ),
    (
        "SOP-AC-MT",
        "空调清洗保养",
        "maintenance",
        "空调",
        "",
        (
            "拆下面板和过滤网，清洗过滤网",
            "蒸发器喷洒清洗剂，静置 10 分钟后冲洗",
            "清理接水盘和排水管，确认排水通畅",
            "检查外机冷凝器，清除杂物",
            "试机 10 分钟，检查有无异味、漏水",
        ),
        (LOTO, HEIGHT),
        (),
        "1.00",
    ),
    (
        "SOP-AC-RP",
        "空调不制冷维修",
        "repair",
        "空调",
        "",
        (
            "检查设定模式与温度，测量进出风温差",
            "检查外机是否启动，测量压缩机电容与运行电流",
            "检查系统压力，判断缺氟或堵塞",
            "更换故障部件或检漏补焊后补充冷媒",
            "运行 20 分钟，确认出风温差不小于 8℃",
        ),
        (LOTO, "冷媒操作佩戴防冻手套和护目镜", HEIGHT),
        (("AC-CAP-35", "压缩机电容 35μF", 1),),
        "1.50",
    ),
    (
        "SOP-WH-MT",
        "燃气热水器年度保养",
        "maintenance",
        "热水器",
        "",
        (
            "检查燃气管、进出水管接口，检漏",
            "清洗进水滤网，检查水流传感器",
            "清理燃烧器与换热器积碳",
            "检查烟管连接与排烟是否通畅",
            "点火试机，测量出水温度稳定性",
        ),
        (GAS, "保养结束后检查烟管无漏烟，室内保持通风"),
        (),
        "1.20",
    ),
    (
        "SOP-RF-RP",
        "冰箱不制冷维修",
        "repair",
        "冰箱",
        "",
        (
            "询问故障现象，检查温度设定和门封",
            "检查压缩机是否运转、风扇是否工作",
            "检查化霜系统（加热管、温控器、化霜传感器）",
            "更换故障部件",
            "通电运行 30 分钟，测量冷藏室温度下降情况",
        ),
        (LOTO, "搬动冰箱须两人配合，倾斜不超过 45 度"),
        (),
        "1.50",
    ),
)


def seed_sops(session: Session) -> int:
    """Add the starter standard jobs that are not there yet; returns how many were added.

    A model-specific job whose model is not in the catalogue is skipped.
    """
    existing = set(session.scalars(select(StandardJob.code)))
    models = {m.code: m for m in session.scalars(select(ProductModel))}
    added = 0
    now = utcnow()
    for code, title, service_type, category, model_code, steps, safety, parts, hours in SOPS:
        if code in existing:
            continue
        model = models.get(model_code) if model_code else None
        if model_code and model is None:
            continue
        standard_parts: list[dict[str, Any]] = [
            {"part_code": c, "name": n, "quantity": q} for c, n, q in parts
        ]
        session.add(
            StandardJob(
                code=code,
                title=title,
                service_type=service_type,
                model_id=model.id if model else None,
                product_category=category,
                steps=list(steps),
                safety_notes=list(safety),
                standard_parts=standard_parts,
                labour_hours=Decimal(hours),
                active=True,
                created_at=now,
                updated_at=now,
            )
        )
        added += 1
    session.flush()
    return added
