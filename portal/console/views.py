"""Console JSON routes (`/api/v1/console/...`): what agents and supervisors do and see.

Staff who chat (agents, admins) only. Called from the console page with the staff session
cookie, every write must carry the page's CSRF token in `X-CSRF-Token`; API clients use a
bearer token instead. Each call also counts as the agent's heartbeat. Writes go through
the hub's `do_*` methods, which tell live consoles and the customer's channel.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from portal import csrf
from portal.config import Settings
from portal.console import flows as console_flows
from portal.console import service as console_service
from portal.console.policies import Chatter, Configurer
from portal.console.schemas import (
    CustomerContext,
    KbHit,
    KbResult,
    MeRead,
    TicketVisitEdit,
    TicketVisitEdited,
)
from portal.conversations import service, snapshots
from portal.conversations.flows import ConversationHub
from portal.conversations.schemas import (
    AgentStatus,
    ChatItem,
    ConversationDetail,
    LiveItem,
    MessageRead,
    NoteCreate,
    NoteRead,
    PresenceRequest,
    ProfileUpdate,
    QueueItem,
    SendRequest,
    TicketCreated,
    TransferRequest,
    TypingRequest,
)
from portal.database import SessionDep
from portal.errors import Forbidden
from portal.i18n import MESSAGES, Lang, t
from portal.ids import IdPath
from portal.knowledge import service as knowledge
from portal.privacy import masking
from portal.security import Principal
from portal.tickets.schemas import TicketCreate

router = APIRouter(prefix="/console", tags=["console"])

QUICK_REPLY_KEYS = tuple(sorted(k for k in MESSAGES if k.startswith("console.quick.")))


async def chat_staff(request: Request, principal: Chatter) -> Principal:
    """A staff member who chats with customers; cookie-authenticated writes need CSRF."""
    if request.method not in csrf.SAFE_METHODS and "authorization" not in request.headers:
        await csrf.protect(request)
    hub: ConversationHub = request.app.state.hub
    assert principal.user_id is not None
    hub.presence.seen(principal.user_id)
    return principal


Agent = Annotated[Principal, Depends(chat_staff)]


def _hub(request: Request) -> ConversationHub:
    hub: ConversationHub = request.app.state.hub
    return hub


def _uid(agent: Principal) -> int:
    assert agent.user_id is not None
    return agent.user_id


def _lang(request: Request) -> Lang:
    return "en" if request.cookies.get("lang") == "en" else "zh"


def quick_replies(settings: Settings, lang: Lang) -> list[str]:
    """The configured quick replies, or the built-in ones in the agent's language."""
    raw = settings.console_quick_replies.replace("\n", "|")
    configured = [part.strip() for part in raw.split("|") if part.strip()]
    return configured or [t(key, lang) for key in QUICK_REPLY_KEYS]


def knowledge_base(request: Request) -> Any:
    """The loaded knowledge base, if this installation has one (checked on every call)."""
    kb = getattr(request.app.state, "kb", None)
    return kb if kb is not None and callable(getattr(kb, "search", None)) else None


def _supervisor(session: SessionDep, agent: Agent, request: Request) -> Principal:
    info = service.get_agent(
        session,
        user_id=_uid(agent),
        default_max=request.app.state.settings.handoff_default_max_chats,
    )
    if not info.supervisor:
        raise Forbidden("error.forbidden")
    return agent


Supervisor = Annotated[Principal, Depends(_supervisor)]


@router.get("/me", response_model=MeRead)
def me(request: Request, session: SessionDep, agent: Agent) -> MeRead:
    """The signed-in agent: status, limits, skills, quick replies, which tools exist."""
    settings: Settings = request.app.state.settings
    info = service.get_agent(
        session, user_id=_uid(agent), default_max=settings.handoff_default_max_chats
    )
    teams = sorted({a.team for a in service.list_agents(session, default_max=1) if a.team})
    return MeRead(
        user_id=info.user_id,
        name=info.display_name,
        role=info.role,
        status=_hub(request).presence.status(info.user_id),
        supervisor=info.supervisor,
        max_chats=info.max_chats,
        team=info.team,
        product_lines=list(info.product_lines),
        languages=list(info.languages),
        quick_replies=quick_replies(settings, _lang(request)),
        kb_available=knowledge_base(request) is not None,
        teams=teams,
    )


@router.post("/presence", response_model=PresenceRequest)
async def presence(body: PresenceRequest, request: Request, agent: Agent) -> PresenceRequest:
    """Choose online, away or offline; API clients repeat it as their heartbeat."""
    now = await _hub(request).set_status(_uid(agent), body.status)
    return PresenceRequest(status=now)  # type: ignore[arg-type]


@router.get("/queue", response_model=list[QueueItem])
async def queue(request: Request, _agent: Agent) -> list[QueueItem]:
    """Waiting conversations in service order (put back first, VIP, longest wait)."""
    return await _hub(request).queue_items()


@router.get("/live", response_model=list[LiveItem])
async def live(request: Request, _agent: Agent) -> list[LiveItem]:
    """Conversations with the bot active lately, which an agent may pick up."""
    return await _hub(request).live_items()


@router.get("/chats", response_model=list[ChatItem])
async def chats(request: Request, agent: Agent) -> list[ChatItem]:
    """The chats the signed-in agent owns."""
    return await _hub(request).chat_items(_uid(agent))


@router.get("/agents", response_model=list[AgentStatus])
async def agents(request: Request, _s: Supervisor) -> list[AgentStatus]:
    """Every agent's status, load and live conversations (supervisors)."""
    return await _hub(request).agent_statuses()


@router.put("/agents/{user_id}", response_model=ProfileUpdate)
def save_profile(
    user_id: IdPath,
    body: ProfileUpdate,
    request: Request,
    session: SessionDep,
    agent: Agent,
    _admin: Configurer,
) -> ProfileUpdate:
    """Set an agent's concurrent-chat limit, skills, team and supervisor flag (admins)."""
    service.get_agent(session, user_id=user_id, default_max=1)  # 404 for non-agents
    service.save_profile(session, user_id=user_id, **body.model_dump())
    return body


@router.get("/conversations/{public_id}", response_model=ConversationDetail)
async def conversation(public_id: str, request: Request, agent: Agent) -> ConversationDetail:
    """The bot's summary, the full transcript, internal notes and the handoff history
    (phone numbers in it masked unless the caller holds the chat)."""
    detail = await _hub(request).detail(public_id)
    return masking.transcript_for(agent, detail)


@router.get("/attachments/{attachment_id}", response_class=FileResponse)
def attachment(
    attachment_id: IdPath,
    request: Request,
    session: SessionDep,
    _agent: Agent,
) -> FileResponse:
    """A photo a customer sent in chat, from our own storage (WeChat's links expire)."""
    found = service.get_attachment(session, attachment_id=attachment_id)
    settings: Settings = request.app.state.settings
    assert found.storage_key is not None  # get_attachment returns stored ones only
    return FileResponse(
        settings.uploads_path / found.storage_key,
        media_type=found.content_type,
        # The type was sniffed from the bytes; the browser must not guess another.
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"},
    )


@router.get("/conversations/{public_id}/customer", response_model=CustomerContext)
def customer(
    public_id: str, request: Request, session: SessionDep, agent: Agent
) -> CustomerContext:
    """The customer sidebar: profile, products, open and past tickets, conversations."""
    return console_service.customer_context(
        session, public_id=public_id, principal=agent, lang=_lang(request)
    )


@router.post("/conversations/{public_id}/accept", status_code=status.HTTP_204_NO_CONTENT)
async def accept(public_id: str, request: Request, agent: Agent) -> Response:
    """Take a waiting conversation (within the limit and skills)."""
    await _hub(request).do_accept(public_id=public_id, agent_id=_uid(agent))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/conversations/{public_id}/pickup", status_code=status.HTTP_204_NO_CONTENT)
async def pickup(public_id: str, request: Request, agent: Agent) -> Response:
    """Take over a conversation the bot is having; the bot pauses."""
    await _hub(request).do_accept(public_id=public_id, agent_id=_uid(agent), pickup=True)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/conversations/{public_id}/decline", status_code=status.HTTP_204_NO_CONTENT)
async def decline(public_id: str, request: Request, agent: Agent) -> Response:
    """Let a conversation offered to you go to the next agent."""
    await _hub(request).do_decline(public_id=public_id, agent_id=_uid(agent))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/conversations/{public_id}/messages",
    response_model=MessageRead,
    status_code=status.HTTP_201_CREATED,
)
async def send(public_id: str, body: SendRequest, request: Request, agent: Agent) -> MessageRead:
    """Write to the customer; it reaches them through their own channel."""
    return await _hub(request).do_send(public_id=public_id, agent_id=_uid(agent), text=body.text)


@router.post("/conversations/{public_id}/typing", status_code=status.HTTP_204_NO_CONTENT)
async def typing(public_id: str, body: TypingRequest, request: Request, agent: Agent) -> Response:
    """Show the customer that you are typing (where their channel can)."""
    await _hub(request).do_agent_typing(public_id=public_id, agent_id=_uid(agent), on=body.on)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/conversations/{public_id}/notes",
    response_model=NoteRead,
    status_code=status.HTTP_201_CREATED,
)
async def note(public_id: str, body: NoteCreate, request: Request, agent: Agent) -> NoteRead:
    """An internal note, never shown to the customer."""
    return await _hub(request).do_note(public_id=public_id, agent_id=_uid(agent), body=body.body)


@router.post("/conversations/{public_id}/transfer", status_code=status.HTTP_204_NO_CONTENT)
async def transfer(
    public_id: str, body: TransferRequest, request: Request, agent: Agent
) -> Response:
    """Hand the chat to another agent, or to a team's queue, with a note."""
    await _hub(request).do_transfer(
        public_id=public_id,
        agent_id=_uid(agent),
        to_agent_id=body.to_agent_id,
        to_team=body.to_team,
        note=body.note,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/conversations/{public_id}/end", status_code=status.HTTP_204_NO_CONTENT)
async def end(public_id: str, request: Request, agent: Agent) -> Response:
    """Hand the chat back to the bot (交回机器人): it answers again, where the conversation
    left off, and the customer is asked to rate the agent's service."""
    await _hub(request).do_end(public_id=public_id, agent_id=_uid(agent))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/conversations/{public_id}/close", status_code=status.HTTP_204_NO_CONTENT)
async def close(public_id: str, request: Request, agent: Agent) -> Response:
    """End the service and close the conversation (结束并关闭): the customer is told; what
    they write next starts a new conversation with the bot."""
    await _hub(request).do_close(public_id=public_id, agent_id=_uid(agent))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/conversations/{public_id}/tickets",
    response_model=TicketCreated,
    status_code=status.HTTP_201_CREATED,
)
async def create_ticket(
    public_id: str, body: TicketCreate, request: Request, agent: Agent
) -> TicketCreated:
    """File a ticket for the customer through the intake template, linked to the chat."""
    ticket_id, number, state = await _hub(request).do_create_ticket(
        public_id=public_id, principal=agent, data=body
    )
    return TicketCreated(id=ticket_id, number=number, status=state, conversation_id=public_id)


@router.patch("/conversations/{public_id}/tickets/{number}", response_model=TicketVisitEdited)
def edit_ticket_visit(
    public_id: str,
    number: str,
    body: TicketVisitEdit,
    request: Request,
    session: SessionDep,
    agent: Agent,
) -> TicketVisitEdited:
    """Correct a ticket of this chat's customer: the visit address (read into official place
    names, as intake does), the visit window (明天下午 …) and the contact phone and name."""
    ticket, note = console_flows.edit_visit(
        session,
        public_id=public_id,
        number=number,
        data=body,
        principal=agent,
        lang=_lang(request),
    )
    names = {agent.user_id: agent.display_name or agent.name} if agent.user_id else {}
    return TicketVisitEdited(
        ticket=ticket, note=snapshots.note_read(note, names) if note is not None else None
    )


@router.get("/kb", response_model=KbResult)
async def kb_search(
    request: Request,
    _agent: Agent,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    k: Annotated[int, Query(ge=1, le=10)] = 5,
) -> KbResult:
    """Search the knowledge base for an answer to insert; `available` false when none."""
    kb = knowledge_base(request)
    if kb is None:
        return KbResult(available=False, items=[])
    hits = await run_in_threadpool(kb.search, q, k)
    return KbResult(
        available=True,
        items=[
            KbHit(
                id=str(getattr(h, "id", "")),
                question=str(getattr(h, "question", "")),
                answer=(answer := str(getattr(h, "answer", ""))),
                answer_html=knowledge.answer_html(answer),
                answer_text=knowledge.answer_text(answer),
                score=float(getattr(h, "score", 0.0)),
            )
            for h in hits
        ],
    )
