"""Photos sent on WeChat are fetched through the media API (the fake) into our own storage;
a photo that cannot be kept is surfaced to staff, never dropped."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.config import Settings
from portal.conversations.models import ConversationAttachment, ConversationNote, Message
from portal.database import Database
from portal.main import create_app
from portal.notifications.flows import render
from portal.notifications.models import Notification
from tests.app_fixtures import FakeRasa
from tests.channels.wechat.fake_api import FakeWeChatApi, Raw
from tests.channels.wechat.support import SUCCESS, WeChatServer, fixture

MEDIA_ID = "e3Oy5mXx0Vf3kEw9bUkqkYZl2cF6tOa1QK1y8rjJ4Wn7hP8oTg2"
PIC_URL = "http://mmbiz.qpic.cn/mmbiz_jpg/Qd1ZbcUq3vKmC8Xh2sRBt6w/0"
# The start of a real JPEG (SOI, APP0/JFIF) and some body: what media/get serves.
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 4
)


def attachments(db: Database) -> list[ConversationAttachment]:
    with db.session() as session:
        return list(
            session.scalars(select(ConversationAttachment).order_by(ConversationAttachment.id))
        )


def inbound(db: Database) -> list[Message]:
    with db.session() as session:
        return list(
            session.scalars(select(Message).where(Message.direction == "in").order_by(Message.id))
        )


def notes(db: Database) -> list[ConversationNote]:
    with db.session() as session:
        return list(session.scalars(select(ConversationNote).order_by(ConversationNote.id)))


def staff_headers(portal: TestClient, staff: dict[str, str]) -> dict[str, str]:
    token = portal.post("/api/v1/auth/token", data=staff).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_a_photo_is_kept_in_our_storage_and_shown_to_staff(
    wechat: WeChatServer,
    portal: TestClient,
    fake_wechat: FakeWeChatApi,
    db: Database,
    fake_rasa: FakeRasa,
    staff: dict[str, str],
    settings: Settings,
) -> None:
    fake_wechat.media[MEDIA_ID] = Raw(JPEG, "image/jpeg")
    text = wechat.say(fixture("image.xml"))
    assert text is not None and "图片已收到" in text
    [kept] = attachments(db)
    assert (kept.status, kept.content_type, kept.size) == ("stored", "image/jpeg", len(JPEG))
    assert kept.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert (kept.media_id, kept.source_url) == (MEDIA_ID, PIC_URL)
    assert kept.storage_key is not None
    assert (settings.uploads_path / kept.storage_key).read_bytes() == JPEG
    [message] = inbound(db)
    # The conversation points at our copy, not at WeChat's link that expires.
    assert message.image_url == f"/api/v1/console/attachments/{kept.id}"
    assert fake_rasa.received == []

    headers = staff_headers(portal, staff)
    served = portal.get(message.image_url, headers=headers)
    assert served.status_code == 200 and served.content == JPEG
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    detail = portal.get(f"/api/v1/console/conversations/{_public_id(db)}", headers=headers).json()
    assert detail["messages"][0]["image_url"] == message.image_url
    # Customers and strangers do not read chat photos.
    assert portal.get(message.image_url).status_code == 401
    assert portal.get("/api/v1/console/attachments/999999", headers=headers).status_code == 404

    # WeChat's retries: no second download, no second copy, one message.
    assert wechat.post(fixture("image.xml")).text == SUCCESS
    assert wechat.post(fixture("image.xml")).text == SUCCESS
    assert fake_wechat.media_calls == [MEDIA_ID]
    assert len(attachments(db)) == 1 and len(inbound(db)) == 1
    assert notes(db) == []


def _public_id(db: Database) -> str:
    from portal.conversations.models import Conversation

    with db.session() as session:
        return session.scalars(select(Conversation.public_id)).one()


def _failed(db: Database) -> tuple[ConversationAttachment, ConversationNote, Message]:
    [failed] = attachments(db)
    [note] = notes(db)
    [message] = inbound(db)
    assert failed.status == "failed" and failed.storage_key is None
    assert note.kind == "media" and note.author_id is None
    # Nothing is lost: the message keeps WeChat's own link, which the note repeats.
    assert message.image_url == PIC_URL and PIC_URL in note.body
    with db.session() as session:
        told = session.scalars(
            select(Notification).where(Notification.template == "wechat_media_failed")
        ).all()
        assert [n.recipient for n in told] == ["user:" + str(_agent_id(db))]
        # The reason is kept in both languages; the bell reads it in the agent's.
        zh, en = render(told[0].template, told[0].payload)
        assert failed.error in zh and failed.error not in en
    return failed, note, message


def _agent_id(db: Database) -> int:
    from portal.accounts.models import User

    with db.session() as session:
        return session.scalars(select(User.id).where(User.username == "agent1")).one()


def test_an_unknown_media_id_is_surfaced_to_staff(
    wechat: WeChatServer,
    fake_wechat: FakeWeChatApi,
    db: Database,
    staff: dict[str, str],
) -> None:
    text = wechat.say(fixture("image.xml"))  # the fake has no such media: errcode 40007
    assert text is not None and "图片已收到" in text
    failed, note, _message = _failed(db)
    assert "微信接口报错" in failed.error and "40007" in failed.error
    assert "40007" in note.body
    # A retry does not try again or tell staff twice.
    assert wechat.post(fixture("image.xml")).text == SUCCESS
    assert fake_wechat.media_calls == [MEDIA_ID]
    assert len(notes(db)) == 1


def test_a_file_that_is_not_a_picture_is_not_kept(
    wechat: WeChatServer,
    fake_wechat: FakeWeChatApi,
    db: Database,
    staff: dict[str, str],
    settings: Settings,
) -> None:
    # Whatever the header says, the bytes decide (as for ticket uploads): a PDF is refused.
    fake_wechat.media[MEDIA_ID] = Raw(b"%PDF-1.7 not a photo", "image/jpeg")
    assert wechat.say(fixture("image.xml")) is not None
    failed, _note, _message = _failed(db)
    assert failed.error == "只能保存 JPG、PNG、GIF 或 WebP 图片"
    assert not (settings.uploads_path / "chat").exists()


@pytest.fixture
def small_portal(wechat_settings: Settings, fake_rasa: FakeRasa) -> Iterator[TestClient]:
    """The portal keeping uploads of at most 1 MB."""
    settings = wechat_settings.model_copy(update={"upload_max_bytes": 1024 * 1024})
    app = create_app(settings, http_transport=httpx.MockTransport(fake_rasa.handler))
    with TestClient(app) as client:
        yield client


def test_a_photo_over_the_size_limit_is_not_kept(
    small_portal: TestClient,
    fake_wechat: FakeWeChatApi,
    db: Database,
    staff: dict[str, str],
) -> None:
    fake_wechat.media[MEDIA_ID] = Raw(JPEG + bytes(1024 * 1024), "image/jpeg")
    assert WeChatServer(small_portal).say(fixture("image.xml")) is not None
    failed, _note, _message = _failed(db)
    assert failed.error == "文件不能超过 1 MB"


def test_an_unreachable_media_api_is_surfaced_to_staff(
    wechat_settings: Settings, fake_rasa: FakeRasa, db: Database, staff: dict[str, str]
) -> None:
    settings = wechat_settings.model_copy(
        update={"wechat_api_base_url": "http://127.0.0.1:9/cgi-bin/", "notify_timeout_s": 1.0}
    )
    app = create_app(settings, http_transport=httpx.MockTransport(fake_rasa.handler))
    with TestClient(app) as client:
        assert WeChatServer(client).say(fixture("image.xml")) is not None
    failed, _note, _message = _failed(db)
    assert failed.error.startswith("无法连接微信接口")
