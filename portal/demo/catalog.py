"""What the brand sells and what goes wrong with it: products, models, faults, remarks."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A product model: code, name and whole-unit warranty (never shorter than what the FAQ
    publishes for its category: demo.assets.WARRANTY_TERMS)."""

    code: str
    name: str
    warranty_months: int


@dataclass(frozen=True, slots=True)
class ProductSpec:
    """A product line within a category, and its models."""

    category: str
    name: str
    models: tuple[ModelSpec, ...]


PRODUCTS: tuple[ProductSpec, ...] = (
    ProductSpec(
        "洗衣机",
        "滚筒洗衣机",
        (
            ModelSpec("WM-100", "滚筒洗衣机 8公斤 变频", 36),
            ModelSpec("WM-200", "滚筒洗衣机 10公斤 洗烘一体", 36),
            ModelSpec("WM-300", "滚筒洗衣机 12公斤 直驱", 36),
        ),
    ),
    ProductSpec(
        "洗衣机",
        "波轮洗衣机",
        (
            ModelSpec("WM-150", "波轮洗衣机 8公斤", 36),
            ModelSpec("WM-250", "波轮洗衣机 10公斤 直驱变频", 36),
        ),
    ),
    ProductSpec(
        "空调",
        "挂式空调",
        (
            ModelSpec("AC-120", "挂式空调 大1匹 一级能效", 72),
            ModelSpec("AC-150", "挂式空调 1.5匹 一级能效", 72),
        ),
    ),
    ProductSpec(
        "空调",
        "柜式空调",
        (
            ModelSpec("AC-250", "柜式空调 2匹 变频", 72),
            ModelSpec("AC-350", "柜式空调 3匹 变频", 72),
        ),
    ),
    ProductSpec(
        "冰箱",
        "多门冰箱",
        (
            ModelSpec("RF-300", "三门冰箱 301升", 36),
            ModelSpec("RF-500", "对开门冰箱 510升 风冷", 36),
            ModelSpec("RF-600", "十字四门冰箱 600升", 36),
        ),
    ),
    ProductSpec(
        "热水器",
        "燃气热水器",
        (
            ModelSpec("WH-130", "燃气热水器 13升 恒温", 36),
            ModelSpec("WH-160", "燃气热水器 16升 零冷水", 36),
        ),
    ),
    ProductSpec("热水器", "电热水器", (ModelSpec("WH-060", "电热水器 60升 速热", 36),)),
    ProductSpec(
        "油烟机",
        "吸油烟机",
        (
            ModelSpec("RH-200", "侧吸式油烟机 21立方", 12),
            ModelSpec("RH-300", "顶侧双吸油烟机 25立方", 24),
        ),
    ),
    ProductSpec(
        "燃气灶",
        "嵌入式燃气灶",
        (
            ModelSpec("GS-200", "嵌入式燃气灶 4.5kW", 12),
            ModelSpec("GS-300", "嵌入式燃气灶 5.0kW 熄火保护", 24),
        ),
    ),
)

CATEGORIES: tuple[str, ...] = ("洗衣机", "空调", "冰箱", "热水器", "油烟机", "燃气灶")
SERVICE_TYPES: tuple[str, ...] = ("installation", "repair", "maintenance")

# Which engineer skill a ticket type needs; a complaint or consultation that needs a visit
# is handled as a repair visit.
SKILL_FOR_TICKET_TYPE: dict[str, str] = {
    "installation": "installation",
    "repair": "repair",
    "maintenance": "maintenance",
    "consultation": "repair",
    "complaint": "repair",
}

REPAIR_FAULTS: dict[str, tuple[str, ...]] = {
    "洗衣机": (
        "滚筒不转，显示E21",
        "排水慢，衣服甩不干",
        "脱水时噪音很大，机身晃动",
        "门锁打不开，显示E30",
        "进水不停，水位异常",
        "底部漏水",
    ),
    "空调": (
        "不制冷，外机不启动",
        "室内机滴水",
        "显示E1故障码，无法开机",
        "制热效果差，出风是凉的",
        "遥控器失灵，面板无反应",
        "外机噪音大",
    ),
    "冰箱": (
        "冷藏室结冰，冷冻不冷",
        "压缩机一直响，不停机",
        "冷藏室有异味，温度偏高",
        "门封条变形，关不严",
        "显示屏报F5故障",
    ),
    "热水器": (
        "打不着火，显示E1",
        "水温忽冷忽热",
        "热水器漏水",
        "开热水后很快熄火",
        "显示E4，出水不热",
    ),
    "油烟机": (
        "噪音很大，吸力变小",
        "按键失灵，风机不转",
        "漏油，油杯满得很快",
        "照明灯不亮",
    ),
    "燃气灶": (
        "点不着火，打火针只响不着",
        "火焰发黄，有燃气味",
        "熄火保护后再也打不着",
        "一边火力很小",
    ),
}

INSTALL_REQUESTS: tuple[str, ...] = ("新机上门安装", "新机安装，需要打孔", "新机安装及调试")
RELOCATE_REQUESTS: tuple[str, ...] = ("搬家移机", "拆机后重新安装", "换位置重新安装")
MAINTENANCE_REQUESTS: dict[str, str] = {
    "洗衣机": "滚筒清洗保养",
    "空调": "空调深度清洗，换季保养",
    "冰箱": "冰箱除霜清洁保养",
    "热水器": "热水器年度安全检查",
    "油烟机": "油烟机拆洗保养",
    "燃气灶": "燃气灶安全检查，更换胶管",
}
CONSULTATIONS: tuple[str, ...] = (
    "保修期怎么查？",
    "童锁怎么解除？",
    "显示屏一直闪，是什么意思？",
    "想了解延保服务价格",
    "遥控器上的模式怎么设置？",
    "停电后需要重新设置吗？",
)
COMPLAINTS: tuple[str, ...] = (
    "上次维修后没过几天又坏了",
    "工程师迟到两个小时也没提前说",
    "收费和电话里说的不一样",
    "预约了三次都没人上门",
    "工程师服务态度不好",
)
REMOTE_FIXES: tuple[str, ...] = (
    "电话指导断电重启后恢复",
    "指导清理过滤网后正常",
    "视频指导解除童锁",
    "说明书页面已发送，客户确认会操作",
    "告知保修政策，客户无需上门",
    "致歉并补偿延保一年，客户接受",
)
SOLUTIONS: dict[str, tuple[str, ...]] = {
    "repair": (
        "更换主板后测试正常",
        "更换排水泵，测试正常",
        "清理堵塞，恢复正常",
        "更换传感器，试机正常",
        "紧固部件，异响消除",
        "补充冷媒，制冷恢复",
    ),
    "installation": ("安装完成，试机正常", "移机完成，已检漏", "安装调试完毕，已讲解使用"),
    "maintenance": ("清洗保养完成", "安全检查完成，无隐患", "更换易损件，保养完成"),
}
PARTS: dict[str, tuple[str, ...]] = {
    "洗衣机": ("电脑板", "排水泵", "门锁开关", "电机"),
    "空调": ("压缩机电容", "室外机主板", "风扇电机", "温度传感器"),
    "冰箱": ("温控器", "化霜加热管", "门封条", "风扇电机"),
    "热水器": ("点火针", "水流传感器", "比例阀", "主控板"),
    "油烟机": ("电机", "按键板", "油杯"),
    "燃气灶": ("热电偶", "点火器", "旋钮"),
}
# The parts' English names (master data: shown on pages read in English).
PART_NAMES_EN: dict[str, str] = {
    "电脑板": "Control board",
    "排水泵": "Drain pump",
    "门锁开关": "Door lock switch",
    "电机": "Motor",
    "压缩机电容": "Compressor capacitor",
    "室外机主板": "Outdoor unit main board",
    "风扇电机": "Fan motor",
    "温度传感器": "Temperature sensor",
    "温控器": "Thermostat",
    "化霜加热管": "Defrost heater",
    "门封条": "Door gasket",
    "点火针": "Ignition electrode",
    "水流传感器": "Water flow sensor",
    "比例阀": "Proportional valve",
    "主控板": "Main control board",
    "按键板": "Keypad board",
    "油杯": "Oil cup",
    "热电偶": "Thermocouple",
    "点火器": "Igniter",
    "旋钮": "Knob",
}
REJECT_REASONS: tuple[str, ...] = ("时间冲突，今天排满了", "不熟悉该型号", "距离太远，建议改派")
REASSIGN_REASONS: tuple[str, ...] = ("工程师临时请假", "客户改约时间", "就近改派")
CANCEL_REASONS: tuple[str, ...] = ("客户自行解决了", "客户不需要了", "重复报单", "客户改约后取消")
URGE_NOTES: tuple[str, ...] = ("客户来电催促上门", "客户在微信催单", "客户询问工程师几点到")
ESCALATE_REASONS: tuple[str, ...] = ("VIP客户，加急处理", "客户投诉，升级主管跟进", "超时未上门")
REOPEN_REASONS: tuple[str, ...] = ("维修后同样故障又出现", "客户反馈问题未解决")
GOOD_REMARKS: tuple[str, ...] = (
    "师傅很专业，准时上门",
    "服务很好，讲解耐心",
    "很快修好了，满意",
    "穿鞋套，走时还清理了现场",
    "",
)
BAD_REMARKS: tuple[str, ...] = ("等太久了", "修完没多久又有问题", "收费不透明", "态度一般")

# Labour fee by service, in yuan; parts are charged on top.
LABOUR_FEE: dict[str, Decimal] = {
    "installation": Decimal("80.00"),
    "repair": Decimal("120.00"),
    "maintenance": Decimal("60.00"),
}
PART_FEE = Decimal("150.00")
