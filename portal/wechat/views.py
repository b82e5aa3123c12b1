"""Staff routes of the WeChat channel: messages WeChat did not take, and the custom menu."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict
from wechatpy.exceptions import WeChatClientException

from channels.wechat import MenuInvalid
from portal.database import SessionDep
from portal.errors import Invalid
from portal.security import Principal, require_roles
from portal.wechat import service

router = APIRouter(prefix="/wechat", tags=["wechat"])

Desk = Annotated[Principal, require_roles("agent", "dispatcher")]
Admin = Annotated[Principal, require_roles("admin")]
FailureId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class FailureRead(BaseModel):
    """A message to a follower that WeChat did not take."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    openid: str
    conversation_id: int | None
    reason: str
    errcode: int | None
    errmsg: str
    text: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str


@router.get("/failures", response_model=list[FailureRead])
def failures(
    session: SessionDep,
    _p: Desk,
    include_resolved: Annotated[bool, Query()] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Any]:
    """Undelivered WeChat messages (window closed, unfollowed, API errors), newest first."""
    return service.list_failures(session, unresolved_only=not include_resolved, limit=limit)


@router.post("/failures/{failure_id}/resolve", response_model=FailureRead)
def resolve(failure_id: FailureId, session: SessionDep, principal: Desk) -> Any:
    """Mark an undelivered message as followed up (e.g. the customer was called)."""
    return service.resolve_failure(session, failure_id=failure_id, actor=principal.actor)


@router.post("/menu")
def publish_menu(request: Request, _p: Admin) -> dict[str, Any]:
    """Publish the custom menu (WECHAT_MENU, or the built-in 报修服务 / 自助服务 / 联系客服) to
    the official account, checked against WeChat's limits first."""
    channel = getattr(request.app.state, "wechat", None)
    if channel is None or channel.api is None:
        raise Invalid("wechat.not_configured")
    try:
        channel.api.create_menu(channel.config.menu)
    except MenuInvalid as exc:
        raise Invalid("wechat.menu_invalid", reason=str(exc)) from exc
    except WeChatClientException as exc:
        raise Invalid("wechat.api_refused", errcode=exc.errcode, errmsg=exc.errmsg) from exc
    return {"published": True}
