"""How an answer's Markdown is shown: safe HTML for pages and the web widget, plain text for
channels that show no HTML (WeChat).

FAQ answers, and the bot messages that quote them, are CommonMark with pipe tables and hard
line breaks. This module holds the one parser for that dialect; the help centre, the agent
console, the widget channel and the WeChat channel all render through it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = ["to_html", "to_text"]

# Answers are Markdown written by editors (and bot texts may quote what a customer typed):
# raw HTML is shown as text, never run, and markdown-it drops javascript:/vbscript:/file:/data:
# links.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable("table")

# A table cell that says "nothing here"; left out of the plain-text line.
_EMPTY_CELL = re.compile(r"[\s\-–—/]*")


def to_html(text: str) -> str:
    """Markdown as safe HTML: raw HTML escaped, unsafe links dropped."""
    return _MARKDOWN.render(text.strip())


def to_text(text: str) -> str:
    """Markdown as plain text: emphasis marks dropped, one line per list item and table row.

    Blocks keep the spacing the author gave them: a blank line where the source had one.
    """
    blocks: list[tuple[int, int, str]] = []  # (first source line, line after it, text)
    lists: list[list[int]] = []  # per open list: [next number] (0: bullets)
    prefix = ""  # the marker of the list item whose first paragraph comes next
    tokens = _MARKDOWN.parse(text.strip())
    index = 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            start = token.attrGet("start") if kind == "ordered_list_open" else 0
            lists.append([int(start if start is not None else 1)])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            counter = lists[-1]
            prefix = "• " if counter[0] == 0 else f"{counter[0]}. "
            if counter[0]:
                counter[0] += 1
        elif kind == "inline":
            indent = "  " * max(len(lists) - 1, 0)
            # A list item's later paragraphs line up under its first one's text.
            lead = indent + (prefix or ("  " if lists else ""))
            prefix = ""
            body = _inline_text(token.children or [])
            lines = body.split("\n")
            shown = lead + ("\n" + " " * len(lead)).join(lines) if lists else body
            _add(blocks, token, shown)
        elif kind == "table_open":
            close = next(i for i in range(index, len(tokens)) if tokens[i].type == "table_close")
            _add(blocks, token, "\n".join(_table_lines(tokens[index:close])))
            index = close
        elif kind in ("fence", "code_block"):
            _add(blocks, token, token.content.rstrip("\n"))
        index += 1
    out: list[str] = []
    last_end: int | None = None
    for first, end, body in blocks:
        if out:
            out.append("\n" if first == last_end else "\n\n")
        out.append(body)
        last_end = end
    return "".join(out).strip()


def _add(blocks: list[tuple[int, int, str]], token: Token, body: str) -> None:
    first, end = token.map if token.map else (-1, -1)
    if body.strip():
        blocks.append((first, end, body))


def _inline_text(children: Sequence[Token]) -> str:
    parts: list[str] = []
    href: str | None = None
    link_start = 0
    for child in children:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content)  # its alt text
        elif child.type == "link_open":
            href = str(child.attrGet("href") or "")
            link_start = len(parts)
        elif child.type == "link_close" and href is not None:
            # WeChat turns a bare address into a link itself; the label alone would lose it.
            if href and "".join(parts[link_start:]).strip() != href:
                parts.append(f"（{href}）")
            href = None
    return "".join(parts).strip()


def _table_lines(tokens: Sequence[Token]) -> list[str]:
    """A table's body rows as "first cell：header value，header value" lines."""
    header: list[str] = []
    rows: list[list[str]] = []
    in_head = False
    for token in tokens:
        if token.type == "thead_open":
            in_head = True
        elif token.type == "thead_close":
            in_head = False
        elif token.type == "tr_open" and not in_head:
            rows.append([])
        elif token.type == "inline":
            cell = _inline_text(token.children or []).replace("\n", " ")
            (header if in_head else rows[-1]).append(cell)
    lines = []
    for row in rows:
        label, rest = (row[0], row[1:]) if row else ("", [])
        if len(header) <= 2:
            # Two columns: "项目：费用" reads without the headers.
            values = [cell for cell in rest if not _EMPTY_CELL.fullmatch(cell)]
        else:
            values = [
                f"{name} {cell}" if name else cell
                for name, cell in zip(header[1:], rest, strict=False)
                if not _EMPTY_CELL.fullmatch(cell)
            ]
        lines.append(f"{label}：{'，'.join(values)}" if values else label)
    return [line for line in lines if line.strip()]
