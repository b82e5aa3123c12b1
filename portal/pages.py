"""Pages shared by every domain: the language switch and the site's icon."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from portal.config import ROOT
from portal.templating import (
    LANG_COOKIE,
    LANG_COOKIE_AGE,
    PAGE_ROUTER_OPTIONS,
    safe_path,
    see_other,
)

FAVICON = ROOT / "portal" / "static" / "favicon.ico"

router = APIRouter(**PAGE_ROUTER_OPTIONS)


@router.get("/lang/{lang}", response_class=Response)
def switch_language(lang: Literal["zh", "en"], next: str = "/tickets") -> Response:
    """Remember the reader's language in a cookie and go back to where they were."""
    response = see_other(safe_path(next))
    response.set_cookie(LANG_COOKIE, lang, max_age=LANG_COOKIE_AGE, samesite="lax")
    return response


@router.get("/favicon.ico", response_class=Response)
def favicon() -> Response:
    """The site's icon, where every browser asks for it (no page of ours is left with a 404)."""
    return FileResponse(
        FAVICON, media_type="image/x-icon", headers={"Cache-Control": "public, max-age=604800"}
    )
