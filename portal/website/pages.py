"""The public demo page with the chat widget, in Chinese or English."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from portal.i18n import Lang, t
from portal.templating import LANG_COOKIE, templates

router = APIRouter()

LANGS: tuple[Lang, ...] = ("zh", "en")


def accepted_lang(header: str) -> Lang:
    """The first of our languages the browser's Accept-Language prefers (zh-CN, en-GB;q=0.8
    …, by weight, then in order); Chinese when it names neither."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        primary = tag.strip().split("-")[0].lower()
        if primary in LANGS and weight > 0:
            ranked.append((-weight, index, primary))
    return "en" if ranked and min(ranked)[2] == "en" else "zh"


def site_lang(request: Request) -> Lang:
    """The page's language: `?lang=` when given, else the reader's choice (the language
    switch's cookie), else what their browser asks for."""
    for chosen in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if chosen == "en":
            return "en"
        if chosen == "zh":
            return "zh"
    return accepted_lang(request.headers.get("accept-language", ""))


def site_context(lang: Lang) -> dict[str, Any]:
    """What widget_demo.html needs to be written in `lang`."""

    def say(key: str, **params: object) -> str:
        return t(key, lang, **params)

    return {"site_lang": lang, "say": say}


@router.get("/", response_class=HTMLResponse)
def demo(request: Request) -> HTMLResponse:
    """A brand's support page that embeds the chat widget with one script tag, in the
    reader's language (?lang=en, the language switch or Accept-Language); the widget opens
    the chat in it."""
    response = templates.TemplateResponse(
        request,
        "widget_demo.html",
        {
            **site_context(site_lang(request)),
            "widget_src": str(request.url_for("static", path="widget/widget.js")),
            "site_key": "demo",
        },
    )
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response
