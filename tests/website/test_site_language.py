"""The demo brand's page at / in Chinese or English: ?lang=, the language switch (its cookie)
or the browser's Accept-Language choose, in that order; the widget's data-lang and the page's
<html lang> follow, so the chat opens in the page's language."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from portal.website.pages import accepted_lang
from tests.channels.test_demo_page import table_rows

CJK = re.compile(r"[\u3400-\u9fff]")
SWITCH = re.compile(r'<a [^>]*data-testid="lang-switch"[^>]*>[^<]*</a>')


def language_of(page: str) -> str:
    """The page's language as the widget tag declares it, checked against <html lang>."""
    found = re.search(r'<script [^>]*data-lang="(\w+)"', page)
    assert found is not None, "no widget tag"
    html = re.search(r'<html lang="([\w-]+)">', page)
    assert html is not None
    assert html.group(1) == {"zh": "zh-CN", "en": "en"}[found.group(1)]
    return found.group(1)


def warranty(page: str) -> list[list[str]]:
    return table_rows(page.split('data-testid="demo-warranty"')[1].split("</details>")[0])


def test_the_page_is_chinese_by_default(client: TestClient) -> None:
    page = client.get("/").text
    assert language_of(page) == "zh"
    assert "<title>禾川家电 · 服务与支持</title>" in page
    assert 'data-title="在线客服"' in page
    assert 'href="/lang/en?next=/"' in page


def test_lang_en_gives_the_english_page_and_an_english_widget(client: TestClient) -> None:
    response = client.get("/?lang=en")
    page = response.text
    assert language_of(page) == "en"
    assert "<title>Hechuan Appliances · Service &amp; Support</title>" in page
    assert 'data-title="Chat with us"' in page
    assert 'href="/lang/zh?next=/"' in page
    # Nothing Chinese is left but the switch's own name for Chinese (中文).
    (switch,) = SWITCH.findall(page)
    assert ">中文</a>" in switch
    assert CJK.findall(SWITCH.sub("", page)) == []
    assert "Accept-Language" in response.headers["vary"]


def test_the_english_warranty_table_states_the_same_years(client: TestClient) -> None:
    english = warranty(client.get("/?lang=en").text)
    chinese = warranty(client.get("/?lang=zh").text)
    assert english[0] == ["Product", "Whole unit", "Main part"]
    assert english[1] == ["Washing machine", "3 years", "Motor 10 years"]
    kitchen = ["Range hood / gas hob / dishwasher", "1 year", "Range hood motor 5 years"]
    assert english[-1] == kitchen

    def years(rows: list[list[str]]) -> list[list[str]]:
        return [re.findall(r"\d+", " ".join(row)) for row in rows]

    assert len(english) == len(chinese) and years(english) == years(chinese)


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("en-US,en;q=0.9", "en"),
        ("en-GB", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("fr-FR, en;q=0.5", "en"),  # French first, which we do not write: English next
        ("en;q=0.3, zh-TW;q=0.7", "zh"),  # by weight, not by order
        ("en;q=0, zh;q=0.1", "zh"),  # q=0 means "not English"
        ("de, fr", "zh"),
        ("", "zh"),
        ("en;q=abc", "zh"),
    ],
)
def test_the_browser_s_languages_choose_when_nothing_else_does(
    client: TestClient, header: str, lang: str
) -> None:
    assert accepted_lang(header) == lang
    assert language_of(client.get("/", headers={"Accept-Language": header}).text) == lang


def test_the_switch_is_remembered_and_lang_in_the_address_wins(client: TestClient) -> None:
    english_browser = {"Accept-Language": "en-US,en;q=0.9"}
    switched = client.get("/lang/zh?next=/", headers=english_browser, follow_redirects=True)
    assert switched.url.path == "/"
    assert language_of(switched.text) == "zh"  # the choice beats the browser's language
    assert language_of(client.get("/?lang=en", headers=english_browser).text) == "en"
    client.get("/lang/en?next=/")
    assert language_of(client.get("/").text) == "en"
    assert language_of(client.get("/?lang=zh").text) == "zh"
    assert language_of(client.get("/?lang=fr").text) == "en"  # not ours: the cookie's
