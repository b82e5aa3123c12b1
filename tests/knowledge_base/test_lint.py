"""`lint`: errors with file and line, near-duplicates, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.cli import main
from knowledge_base.lint import lint_dir


def test_clean_folder_has_no_issues(faq_dir: Path) -> None:
    assert lint_dir(faq_dir) == []


def test_near_duplicate_questions_across_entries_warn(faq_dir: Path) -> None:
    (faq_dir / "zz_more.yaml").write_text(
        "- id: progress-copy\n  question: 如何查询工单的进度？\n  answer: 见我的工单。\n",
        encoding="utf-8",
    )
    [issue] = lint_dir(faq_dir)
    assert issue.severity == "warning"
    assert issue.path == "zz_more.yaml" and issue.line == 1
    assert "service-order-progress" in issue.message


def test_same_question_in_two_entries_is_an_error(faq_dir: Path) -> None:
    (faq_dir / "more.yaml").write_text(
        "- id: other\n  question: 保修几年\n  answer: 见保修政策。\n", encoding="utf-8"
    )
    [issue] = lint_dir(faq_dir)
    assert issue.severity == "error" and "duplicate question" in issue.message


def test_questions_differing_only_by_fault_code_are_not_duplicates(faq_dir: Path) -> None:
    # wm-e21 and wm-e10 share every character bigram except the code.
    assert all("wm-e10" not in i.message for i in lint_dir(faq_dir))


def test_cli_exit_codes_and_file_line_output(
    faq_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lint", str(faq_dir)]) == 0
    (faq_dir / "fault_codes" / "bad.yaml").write_text(
        "- id: bad\n  question: 问题\n  answer: ''\n", encoding="utf-8"
    )
    assert main(["lint", str(faq_dir)]) == 1
    out = capsys.readouterr().out
    assert "fault_codes/bad.yaml:3: error: field 'answer' is empty" in out


def test_cli_strict_fails_on_warnings(faq_dir: Path) -> None:
    (faq_dir / "more.yaml").write_text(
        "- id: progress-copy\n  question: 如何查询工单的进度？\n  answer: 见我的工单。\n",
        encoding="utf-8",
    )
    assert main(["lint", str(faq_dir)]) == 0
    assert main(["lint", "--strict", str(faq_dir)]) == 1


def test_demo_faq_is_clean_and_big_enough() -> None:
    from knowledge_base.cli import DEMO_FAQ
    from knowledge_base.loader import load_dir

    assert [i for i in lint_dir(DEMO_FAQ) if i.severity == "error"] == []
    entries = load_dir(DEMO_FAQ).entries
    assert len(entries) >= 200
    assert sum(e.lang == "en" for e in entries) >= 10
