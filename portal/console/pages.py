"""The agent console page: one page, driven by console.js over the console API and socket."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from portal.config import Settings
from portal.console.policies import ChatterPage
from portal.console.views import knowledge_base, quick_replies
from portal.conversations import service
from portal.database import SessionDep
from portal.i18n import MESSAGES
from portal.templating import DISPLAY_ZONE, PAGE_ROUTER_OPTIONS, render, request_lang

router = APIRouter(**PAGE_ROUTER_OPTIONS)

# Sentences the script shows; the page hands them over in the reader's language.
SCRIPT_KEYS = tuple(sorted(k for k in MESSAGES if k.startswith("ui.console.js.")))


@router.get("/console", response_class=Response)
def console_page(request: Request, session: SessionDep, user: ChatterPage) -> Response:
    """The agent console: queue, chats, the conversation, customer sidebar and tools."""
    assert user.user_id is not None  # a page session is always a staff member's
    settings: Settings = request.app.state.settings
    lang = request_lang(request)
    info = service.get_agent(
        session, user_id=user.user_id, default_max=settings.handoff_default_max_chats
    )
    teams = sorted({a.team for a in service.list_agents(session, default_max=1) if a.team})
    agents = [
        {"id": a.user_id, "name": a.display_name}
        for a in service.list_agents(session, default_max=1)
        if a.user_id != user.user_id
    ]
    # Unformatted: the script fills in {placeholders} itself.
    strings = {
        key.removeprefix("ui.console.js."): MESSAGES[key][0 if lang == "zh" else 1]
        for key in SCRIPT_KEYS
    }
    return render(
        request,
        "console/index.html",
        {
            "agent": info,
            "config": {
                "userId": info.user_id,
                "supervisor": info.supervisor,
                "kb": knowledge_base(request) is not None,
                "quickReplies": quick_replies(settings, lang),
                "teams": teams,
                "agents": agents,
                "lang": lang,
                # Staff pages show times in one zone, whatever the browser's (ui.times_note).
                "timeZone": DISPLAY_ZONE.key,
                "strings": strings,
            },
        },
    )
