"""Writing edited and new entries back to YAML: validated first, comments and layout kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base import Entry, FAQError, KBConfig, KnowledgeBase

WASHER_FILE = "fault_codes/washer.yaml"


@pytest.fixture
def kb(faq_dir: Path, config: KBConfig) -> KnowledgeBase:
    return KnowledgeBase(faq_dir, config)


def test_edit_keeps_comments_and_untouched_lines(kb: KnowledgeBase, faq_dir: Path) -> None:
    path = faq_dir / WASHER_FILE
    before = path.read_text(encoding="utf-8").splitlines()
    entry = kb.get("wm-e10")
    assert entry is not None
    edited = kb.save_entry({**entry.to_dict(), "question": "洗衣机报 E10 怎么办？"})
    after = path.read_text(encoding="utf-8").splitlines()
    assert edited.question == "洗衣机报 E10 怎么办？"
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [
        ("  question: 洗衣机显示 E10 是什么故障？", "  question: 洗衣机报 E10 怎么办？")
    ]
    assert after[0] == "# 洗衣机故障代码 — comments must survive write-back"
    assert after[11] == "- id: wm-e10  # 进水"
    assert kb.search("洗衣机报 E10 怎么办？")[0].id == "wm-e10"


def test_edit_multiline_answer_and_lists(kb: KnowledgeBase, faq_dir: Path) -> None:
    entry = kb.get("wm-e21")
    assert entry is not None
    new = Entry(
        id="wm-e21",
        question=entry.question,
        answer="**E21 = 排水超时**\n\n1. 清理过滤器\n2. 检查排水管",
        alternates=(*entry.alternates, "洗衣机不排水"),
        tags=entry.tags,
        products=("WM-100", "WM-200", "WM-300"),
    )
    saved = kb.save_entry(new)
    assert saved.answer == new.answer and saved.alternates[-1] == "洗衣机不排水"
    text = (faq_dir / WASHER_FILE).read_text(encoding="utf-8")
    assert "  answer: |\n    **E21 = 排水超时**\n\n    1. 清理过滤器\n" in text
    assert "  products: [WM-100, WM-200, WM-300]\n" in text  # flow style kept
    assert "  - 洗衣机不排水\n" in text


def test_new_entry_goes_to_the_named_file(kb: KnowledgeBase, faq_dir: Path) -> None:
    saved = kb.save_entry(
        {
            "id": "wm-e30",
            "question": "洗衣机显示 E30",
            "answer": "门没关好。",
            "products": ["WM-100"],
        },
        path=WASHER_FILE,
    )
    assert saved.source == WASHER_FILE and saved.category == "fault_codes"
    assert kb.get("wm-e30") is not None
    text = (faq_dir / WASHER_FILE).read_text(encoding="utf-8")
    assert text.rstrip().endswith(
        "- id: wm-e30\n  question: 洗衣机显示 E30\n  products:\n  - WM-100\n  answer: 门没关好。"
    )
    assert "# 洗衣机故障代码" in text


def test_new_entry_in_a_new_file_and_folder(kb: KnowledgeBase, faq_dir: Path) -> None:
    kb.save_entry(
        {"id": "fee-1", "question": "上门费多少？", "answer": "50 元。"}, path="fees/std.yaml"
    )
    assert (faq_dir / "fees" / "std.yaml").is_file()
    assert kb.categories() == ["fault_codes", "fees", "general", "troubleshooting/ac"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"id": "x1", "question": "问题", "answer": "  "}, "empty"),
        ({"id": "x1", "question": "问题"}, "missing required field 'answer'"),
        ({"id": "x 1", "question": "问题", "answer": "a"}, "may only use"),
        ({"id": "x1", "question": "问题", "answer": "a", "colour": "red"}, "unknown field"),
        ({"id": "wm-e10", "question": "问题", "answer": "a"}, "already"),
    ],
)
def test_invalid_entries_are_refused_and_nothing_is_written(
    kb: KnowledgeBase, faq_dir: Path, fields: dict[str, str], message: str
) -> None:
    before = {p: p.read_text(encoding="utf-8") for p in faq_dir.rglob("*.yaml")}
    with pytest.raises(FAQError) as raised:
        kb.save_entry(fields, path="service.yaml")
    assert message in str(raised.value)
    assert {p: p.read_text(encoding="utf-8") for p in faq_dir.rglob("*.yaml")} == before


def test_path_outside_the_folder_is_refused(kb: KnowledgeBase) -> None:
    with pytest.raises(FAQError):
        kb.save_entry({"id": "x", "question": "q", "answer": "a"}, path="../escape.yaml")


def test_rename_and_delete(kb: KnowledgeBase, faq_dir: Path) -> None:
    entry = kb.get("warranty-period")
    assert entry is not None
    kb.rename_or_edit("warranty-period", {**entry.to_dict(), "id": "warranty-overview"})
    assert kb.get("warranty-period") is None and kb.get("warranty-overview") is not None
    kb.delete_entry("warranty-overview")
    assert kb.get("warranty-overview") is None
    text = (faq_dir / "service.yaml").read_text(encoding="utf-8")
    assert "warranty" not in text and "- id: en-report-repair" in text
