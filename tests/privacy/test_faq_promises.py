"""What the FAQ (served by the bot and the help centre) promises about personal data is what
the code does: no virtual numbers exist, and the engineer's view ends at completion."""

from __future__ import annotations

from pathlib import Path

import yaml

FAQ = Path(__file__).resolve().parents[2] / "knowledge_base" / "faq"


def _answers() -> dict[str, str]:
    out: dict[str, str] = {}
    for path in FAQ.rglob("*.yaml"):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            out[entry["id"]] = entry["answer"]
    return out


def test_no_answer_promises_virtual_numbers() -> None:
    # The platform has no virtual-number (隐私号) provider: engineers and customers see real
    # numbers, masked by role (portal/privacy/masking.py).
    promising = [
        i for i, text in _answers().items() if "虚拟号码" in text or "virtual number" in text
    ]
    assert promising == []


def test_the_privacy_answer_says_what_the_portal_does() -> None:
    answer = _answers()["complaint-privacy"]
    assert "工单完成后即被隐藏" in answer  # field pages hide the number after completion
    assert "前 3 位和后 4 位" in answer  # the masked form other roles see (138****8000)
    assert "我的数据" in answer  # /my/privacy: export and erasure
