"""The fault causes an engineer picks on completing an in-warranty job, and where each one's
cost goes (企业服务成本划分): a quality problem is the factory's (工厂), anything else the
market and sales centre's (市场销售中心). They say who bears the cost of work the manufacturer
pays for; only misuse (使用不当) also ends the free warranty, as the published terms say
(fees.NOT_COVERED)."""

from __future__ import annotations

QUALITY = "quality"
NON_QUALITY = "non_quality"
FACTORY = "factory"
SALES = "sales"

# code -> class, in the order the engineer's list shows them.
CAUSES: dict[str, str] = {
    "component_failure": QUALITY,  # 部件失效
    "design_defect": QUALITY,  # 设计缺陷
    "manufacturing_defect": QUALITY,  # 制造缺陷
    "other_quality": QUALITY,  # 其他质量问题
    "improper_installation": NON_QUALITY,  # 安装不当
    "improper_use": NON_QUALITY,  # 使用不当
    "transport_damage": NON_QUALITY,  # 运输损坏
    "environment": NON_QUALITY,  # 环境因素（电压、潮湿、虫鼠）
    "other_non_quality": NON_QUALITY,  # 其他非质量问题
}
CLASSES = (QUALITY, NON_QUALITY)
CENTRES = (FACTORY, SALES)
CENTRE_OF = {QUALITY: FACTORY, NON_QUALITY: SALES}
# What a reclassification falls back to when the appraiser names no cause of the other class.
OTHER_OF = {QUALITY: "other_non_quality", NON_QUALITY: "other_quality"}

# The costs a cost centre carries, by the settlement line kind they come from.
GROUP_OF_KIND = {
    "parts": "parts",
    "service_fee": "labour",
    "labour_time": "labour",
    "mileage": "logistics",
}
GROUPS = ("parts", "labour", "logistics")


def class_of(cause: str) -> str:
    """The class of a known cause (KeyError for an unknown one)."""
    return CAUSES[cause]


def of_class(klass: str) -> list[str]:
    """The causes of one class, in list order."""
    return [code for code, k in CAUSES.items() if k == klass]


def other_class(klass: str) -> str:
    """Quality for non-quality and back."""
    return NON_QUALITY if klass == QUALITY else QUALITY


def account_code(centre: str, group: str) -> str:
    """The ledger account of a cost centre's parts, labour or logistics costs."""
    return f"cc:{centre}:{group}"
