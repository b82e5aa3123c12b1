"""Conversation JSON routes for staff and the bot."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from portal.conversations import service, snapshots
from portal.conversations.flows import ConversationHub
from portal.conversations.policies import HandingOff, Reader
from portal.conversations.schemas import ConversationRead, HandoffRequest, HandoffResult
from portal.database import SessionDep
from portal.privacy import masking

router = APIRouter(prefix="/conversations", tags=["conversations"])

CanRead = Reader
BotOnly = HandingOff


@router.get("/{public_id}", response_model=ConversationRead)
def get_conversation(public_id: str, session: SessionDep, principal: CanRead) -> ConversationRead:
    """One conversation and its full transcript (one-time codes masked; phone numbers typed
    in it masked too unless the caller holds the chat or is an administrator, as in the
    console)."""
    conversation = service.get_by_public_id(session, public_id=public_id)
    messages = snapshots.transcript(service.list_messages(session, conversation_id=conversation.id))
    if not masking.sees_chat_numbers(principal, conversation.agent_id):
        messages = [
            m.model_copy(
                update={
                    "text": masking.mask_phones_in(m.text),
                    "html": masking.mask_phones_in(m.html) if m.html is not None else None,
                }
            )
            for m in messages
        ]
    return ConversationRead(
        public_id=conversation.public_id,
        channel=conversation.channel,
        state=conversation.state,
        messages=messages,
    )


@router.post(
    "/{public_id}/handoff", response_model=HandoffResult, status_code=status.HTTP_202_ACCEPTED
)
async def handoff(
    public_id: str, body: HandoffRequest, request: Request, principal: BotOnly
) -> HandoffResult:
    """The bot hands the conversation to a human: it waits in the queue for an agent, and
    customer messages go to agents only (not to Rasa) until an agent ends the chat.

    Off duty (see HANDOFF_SCHEDULE) the conversation stays with the bot and the customer is
    offered to leave a ticket: `queued` is false and `on_duty` false. Asking again while the
    conversation waits or is with an agent changes nothing.
    """
    hub: ConversationHub = request.app.state.hub
    return await hub.do_handoff(
        public_id=public_id,
        reason=body.reason,
        summary=body.summary,
        actor=principal.actor,
        product_line=body.product_line,
        language=body.language,
    )
