"""Small FAQ folders written fresh for each test, so tests are fast and independent."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.config import KBConfig

WASHER = """\
# 洗衣机故障代码 — comments must survive write-back
- id: wm-e21
  question: 洗衣机显示 E21 是什么故障？
  alternates:
  - 洗衣机排水超时
  - 洗衣机报E21
  products: [WM-100, WM-200]
  tags: [故障代码, 排水]
  answer: |
    E21 表示排水超时。请清理排水过滤器，检查排水管是否弯折。

- id: wm-e10  # 进水
  question: 洗衣机显示 E10 是什么故障？
  alternates:
  - 洗衣机不进水
  products: [WM-100]
  answer: |
    E10 表示进水超时。请检查水龙头是否打开、进水阀滤网是否堵塞。
"""

AIRCON = """\
- id: ac-not-cooling
  question: 空调开了制冷但是不凉怎么办？
  alternates:
  - 空调不制冷
  - 空调吹热风
  products: [AC-2600]
  answer: 请清洗滤网，检查外机是否运转；仍不凉可能缺冷媒，请报修。
"""

SERVICE = """\
- id: service-order-progress
  question: 如何查询工单进度？
  alternates:
  - 维修单进度查询
  - 我的报修到哪一步了
  answer: 在公众号「我的工单」中查看工单状态和工程师信息。

- id: warranty-period
  question: 家电的保修期是多久？
  alternates:
  - 保修几年
  answer: 整机保修 3 年，主要部件 10 年。

- id: en-report-repair
  question: How do I request a repair?
  alternates:
  - how to book a technician
  lang: en
  answer: Call 400-820-1234 or use the WeChat service account.
"""


def write_faq(root: Path) -> Path:
    """A small FAQ folder with nested categories; returns its path."""
    (root / "fault_codes").mkdir(parents=True)
    (root / "troubleshooting" / "ac").mkdir(parents=True)
    (root / "fault_codes" / "washer.yaml").write_text(WASHER, encoding="utf-8")
    (root / "troubleshooting" / "ac" / "cooling.yaml").write_text(AIRCON, encoding="utf-8")
    (root / "service.yaml").write_text(SERVICE, encoding="utf-8")
    return root


@pytest.fixture
def faq_dir(tmp_path: Path) -> Path:
    """A fresh small FAQ folder."""
    return write_faq(tmp_path / "faq")


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """A fresh embedding cache folder, outside the FAQ folder."""
    return tmp_path / "cache"


@pytest.fixture
def config(cache_dir: Path) -> KBConfig:
    """The default (shipped) model with a private cache."""
    return KBConfig(cache_dir=cache_dir)
