"""The public demo page with the chat widget."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from portal.templating import templates

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def demo(request: Request) -> HTMLResponse:
    """A brand's support page that embeds the chat widget with one script tag."""
    return templates.TemplateResponse(
        request,
        "widget_demo.html",
        {"widget_src": str(request.url_for("static", path="widget/widget.js")), "site_key": "demo"},
    )
