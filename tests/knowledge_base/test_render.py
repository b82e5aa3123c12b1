"""An answer's Markdown as safe HTML (help centre, console, widget) and as plain text (WeChat),
on the real FAQ's answers and on answers written to attack the page."""

from __future__ import annotations

import re

import pytest

from knowledge_base import load_dir
from knowledge_base.render import to_html, to_text
from portal.config import ROOT

FAQ = {entry.id: entry for entry in load_dir(ROOT / "knowledge_base" / "faq").entries}
WARRANTY = FAQ["warranty-period-overview"].answer

HOSTILE = """\
**免费**检测 <script>alert(1)</script>
- <img src=x onerror=alert(2)>
- [点这里](javascript:alert(3)) 和 [官网](https://example.com/a?b=1&c=2)

| 项目 | 费用 |
| --- | --- |
| <b>上门费</b> | 50 元 |
"""


def test_the_warranty_table_and_bold_words_become_html() -> None:
    shown = to_html(WARRANTY)
    assert "<strong>免上门费、工时费和配件费</strong>" in shown
    assert "<th>产品</th>" in shown and "<th>主要部件</th>" in shown
    assert "<td>空调</td>\n<td>6 年</td>\n<td>压缩机 10 年</td>" in shown
    assert "**" not in shown and "| --- |" not in shown


def test_the_warranty_table_becomes_one_line_per_row() -> None:
    assert to_text(WARRANTY) == (
        "保修期从购买发票（或电子凭证）日期起计算：\n"
        "\n"
        "洗衣机：整机 3 年，主要部件 电机 10 年\n"
        "空调：整机 6 年，主要部件 压缩机 10 年\n"
        "冰箱：整机 3 年，主要部件 压缩机 10 年\n"
        "电热水器：整机 3 年，主要部件 内胆 8 年\n"
        "燃气热水器：整机 3 年\n"  # its "—" is no value
        "油烟机 / 燃气灶 / 洗碗机：整机 1 年，主要部件 油烟机电机 5 年\n"
        "\n"
        "保修期内因产品质量问题产生的维修，免上门费、工时费和配件费。"
    )


def test_lists_become_lines_and_keep_their_numbers() -> None:
    assert to_text(FAQ["warranty-check"].answer) == (
        "1. 公众号「禾川服务」→「我的产品」，登记过的产品会显示保修截止日期；\n"
        "2. 输入机身条码（在铭牌上，以 HC 开头的 20 位编码）查询；\n"
        "3. 拨打 400-820-1234 人工查询。"
    )
    lines = to_text(FAQ["warranty-not-covered"].answer).splitlines()
    assert lines[0] == "以下情况不享受免费保修（可以付费维修）："
    assert lines[1] == "• 超过保修期；" and len(lines) == 8
    nested = to_text("1. 先断电\n   再开机\n2. 仍报错：\n   - 拍照\n   - 报修")
    assert nested == "1. 先断电\n   再开机\n2. 仍报错：\n  • 拍照\n  • 报修"


def test_a_two_column_table_reads_item_then_value() -> None:
    table = "收费如下：\n\n| 项目 | 费用 |\n| --- | ---: |\n| 上门费 | 50 元 |\n| 工时费 | 按项目 |"
    assert to_text(table) == "收费如下：\n\n上门费：50 元\n工时费：按项目"


def test_script_in_an_answer_is_escaped_not_run() -> None:
    shown = to_html(HOSTILE)
    assert "<strong>免费</strong>" in shown
    assert "<script" not in shown and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert "<img" not in shown and "&lt;img src=x onerror=alert(2)&gt;" in shown
    assert "<b>" not in shown and "<td>&lt;b&gt;上门费&lt;/b&gt;</td>" in shown
    assert "javascript:" not in re.sub(r"\[点这里\]\(javascript:alert\(3\)\)", "", shown)
    assert 'href="javascript' not in shown
    assert '<a href="https://example.com/a?b=1&amp;c=2">官网</a>' in shown


def test_plain_text_keeps_what_was_written_and_drops_only_the_markup() -> None:
    assert to_text(HOSTILE) == (
        "免费检测 <script>alert(1)</script>\n"
        "• <img src=x onerror=alert(2)>\n"
        "• [点这里](javascript:alert(3)) 和 官网（https://example.com/a?b=1&c=2）\n"
        "\n"
        "<b>上门费</b>：50 元"
    )
    assert to_text("见 [https://example.com](https://example.com)") == "见 https://example.com"
    assert to_text("代码 `E21`，\\*不是\\*强调") == "代码 E21，*不是*强调"


@pytest.mark.parametrize("entry_id", sorted(FAQ))
def test_no_faq_answer_shows_markdown_syntax(entry_id: str) -> None:
    answer = FAQ[entry_id].answer
    text = to_text(answer)
    assert text and "**" not in text and not re.search(r"^\s*(\||-\s|\*\s|#)", text, re.M)
    shown = to_html(answer)
    assert "**" not in shown and "<script" not in shown


def test_an_answer_as_the_bot_sends_it_renders_the_same() -> None:
    # Rasa splits a text at blank lines, so the bot's FAQ action sends them as " " lines.
    sent = re.sub(r"\n[ \t]*\n", "\n \n", WARRANTY.strip())
    assert sent != WARRANTY.strip()
    assert to_html(sent) == to_html(WARRANTY) and to_text(sent) == to_text(WARRANTY)
