"""The go-live checklist page for administrators (the same list as `python -m portal check`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from portal.database import SessionDep
from portal.golive import service
from portal.golive.policies import AdminPage
from portal.templating import PAGE_ROUTER_OPTIONS, render

router = APIRouter(**PAGE_ROUTER_OPTIONS)


@router.get("/golive", response_class=Response)
def checklist(request: Request, session: SessionDep, _admin: AdminPage) -> Response:
    """Each check with what is missing; all green means ready for real customers."""
    checks = service.checklist(session, request.app.state.settings)
    return render(
        request,
        "golive/checklist.html",
        {
            "checks": checks,
            "missing": sum(not check.ok for check in checks),
            "section": "golive",
        },
    )
