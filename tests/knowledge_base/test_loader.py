"""Loading FAQ folders and reporting schema errors with file and line."""

from __future__ import annotations

from pathlib import Path

from knowledge_base.loader import load_dir


def test_loads_entries_with_categories_from_folders(faq_dir: Path) -> None:
    result = load_dir(faq_dir)
    assert result.issues == []
    by_id = {e.id: e for e in result.entries}
    assert set(by_id) == {
        "wm-e21",
        "wm-e10",
        "ac-not-cooling",
        "service-order-progress",
        "warranty-period",
        "en-report-repair",
    }
    assert by_id["wm-e21"].category == "fault_codes"
    assert by_id["ac-not-cooling"].category == "troubleshooting/ac"
    assert by_id["service-order-progress"].category == "general"
    assert by_id["wm-e21"].products == ("WM-100", "WM-200")
    assert by_id["wm-e21"].alternates == ("洗衣机排水超时", "洗衣机报E21")
    assert by_id["wm-e21"].lang == "zh"
    assert by_id["en-report-repair"].lang == "en"
    assert by_id["wm-e10"].source == "fault_codes/washer.yaml"
    assert by_id["wm-e10"].line == 12


def test_missing_answer_points_at_the_entry_line(faq_dir: Path) -> None:
    (faq_dir / "broken.yaml").write_text(
        "- id: ok-one\n  question: q\n  answer: a\n- id: no-answer\n  question: 没有答案\n",
        encoding="utf-8",
    )
    result = load_dir(faq_dir)
    [issue] = result.errors
    assert (issue.path, issue.line) == ("broken.yaml", 4)
    assert "answer" in issue.message
    assert "ok-one" in {e.id for e in result.entries}


def test_empty_answer_unknown_field_and_bad_types(faq_dir: Path) -> None:
    (faq_dir / "bad.yaml").write_text(
        "- id: a1\n"
        "  question: 问题\n"
        "  answer: '   '\n"
        "- id: a2\n"
        "  question: 问题二\n"
        "  anwser: 拼错了\n"
        "  answer: 好的\n"
        "- id: a3\n"
        "  question: 问题三\n"
        "  alternates: 不是列表\n"
        "  answer: 好的\n",
        encoding="utf-8",
    )
    errors = {(i.line, i.entry_id): i.message for i in load_dir(faq_dir).errors}
    assert "empty answer" in errors[(3, "a1")]
    assert "unknown field 'anwser'" in errors[(6, "a2")]
    assert "alternates" in errors[(10, "a3")]


def test_yaml_syntax_error_reports_its_line(faq_dir: Path) -> None:
    (faq_dir / "syntax.yaml").write_text(
        "- id: s1\n  question: ok\n  answer: ok\n- id: s2\n  question: [unclosed\n  answer: x\n",
        encoding="utf-8",
    )
    [issue] = load_dir(faq_dir).errors
    assert issue.path == "syntax.yaml"
    assert issue.line is not None and issue.line >= 5
    assert "YAML syntax error" in issue.message


def test_duplicate_ids_across_files(faq_dir: Path) -> None:
    (faq_dir / "zz_dup.yaml").write_text(
        "# copy\n- id: wm-e21\n  question: 另一个\n  answer: 另一个答案\n", encoding="utf-8"
    )
    [issue] = load_dir(faq_dir).errors
    assert (issue.path, issue.line) == ("zz_dup.yaml", 2)
    assert "duplicate id 'wm-e21'" in issue.message
    assert "fault_codes/washer.yaml:2" in issue.message


def test_file_must_be_a_list(faq_dir: Path) -> None:
    (faq_dir / "map.yaml").write_text("id: x\nquestion: q\nanswer: a\n", encoding="utf-8")
    [issue] = load_dir(faq_dir).errors
    assert issue.path == "map.yaml" and "list" in issue.message


def test_hidden_files_and_other_suffixes_are_ignored(faq_dir: Path) -> None:
    (faq_dir / ".draft.yaml").write_text("not: [valid", encoding="utf-8")
    (faq_dir / "notes.txt").write_text("whatever", encoding="utf-8")
    assert load_dir(faq_dir).issues == []
