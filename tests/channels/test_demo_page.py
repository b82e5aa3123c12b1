"""The demo host page speaks for the same brand, with the same warranty, as the FAQ the bot
answers from."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from jinja2 import Environment, FileSystemLoader

from knowledge_base import load_dir
from knowledge_base.render import to_html
from portal.config import ROOT
from portal.website.pages import site_context

FAQ = {e.id: e for e in load_dir(ROOT / "knowledge_base" / "faq").entries}


class Tables(HTMLParser):
    """The text of every table row (header rows included), cell by cell."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_rows(html: str) -> list[list[str]]:
    parser = Tables()
    parser.feed(html)
    return parser.rows


def demo_page() -> str:
    templates = Environment(loader=FileSystemLoader(ROOT / "portal" / "templates"), autoescape=True)
    return templates.get_template("widget_demo.html").render(
        widget_src="/static/widget/widget.js", **site_context("zh")
    )


def test_the_demo_page_names_the_faq_s_brand_and_hotline() -> None:
    page = demo_page()
    assert "澄风" not in page
    assert "<title>禾川家电 · 服务与支持</title>" in page
    assert "禾川" in FAQ["warranty-period-overview"].question
    hotlines = set(re.findall(r"400-\d{3}-\d{4}", page))
    faq_hotlines = {n for e in FAQ.values() for n in re.findall(r"400-\d{3}-\d{4}", e.answer)}
    assert hotlines and hotlines <= faq_hotlines


def test_the_demo_page_states_the_faq_s_warranty_table() -> None:
    page = demo_page()
    warranty = page.split('data-testid="demo-warranty"')[1].split("</details>")[0]
    assert table_rows(warranty) == table_rows(to_html(FAQ["warranty-period-overview"].answer))
    assert "一年" not in page and "十年" not in page
