"""The staff notification centre through HTTP: the bell's count, the list in both languages,
mark one or all read, nobody reaches another's notifications; and the site's icon."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.accounts.models import User
from portal.database import Database
from portal.notifications import service
from portal.notifications.models import Notification
from tests.page_support import TOKEN, sign_in
from tests.portal import factories as f

COUNT = re.compile(r'data-testid="bell-count">([^<]+)<')
ITEM = re.compile(r'data-testid="notification" data-id="(\d+)" data-read="(true|false)"')


def _staff(db: Database, role: str = "dispatcher") -> tuple[int, str]:
    with db.session() as s:
        user = f.user(s, role=role)
        return user.id, user.username


def _notify(db: Database, user_id: int, n: int, *, template: str = "job_assigned") -> list[int]:
    """`n` in-portal notifications for the user, about tickets SR…-000<i>."""
    with db.session() as s:
        return [
            service.enqueue(
                s,
                key=f"test:{user_id}:{template}:{i}",
                channel=service.PORTAL,
                recipient=service.staff_recipient(user_id),
                template=template,
                payload={
                    "number": f"SR20261207-{i:04d}",
                    "product": "洗衣机",
                    "address": "上海浦东新区世纪大道1号",
                    "engineer": "李师傅",
                    "when": "12-07 09:00",
                },
            ).id
            for i in range(n)
        ]


def test_the_bell_counts_what_is_unread_and_drops_as_it_is_read(
    client: TestClient, db: Database
) -> None:
    uid, name = _staff(db)
    other, _ = _staff(db)
    mine = _notify(db, uid, 3)
    _notify(db, other, 2)  # someone else's: never counted, never shown
    token = sign_in(client, name)
    page = client.get("/tickets")
    # Every staff page has the bell; its count comes from the fragment the top bar loads.
    assert 'hx-get="/notifications/bell"' in page.text and 'data-testid="bell"' in page.text
    assert COUNT.findall(client.get("/notifications/bell").text) == ["3"]

    listing = client.get("/notifications")
    assert listing.status_code == 200
    assert ITEM.findall(listing.text) == [(str(i), "false") for i in reversed(mine)]
    assert "新工单 SR20261207-0002 已派给您：洗衣机，上海浦东新区世纪大道1号。" in listing.text

    read = client.post(
        f"/notifications/{mine[0]}/read",
        data={"csrf_token": token, "next": "/notifications"},
        follow_redirects=False,
    )
    assert read.status_code == 303 and read.headers["location"] == "/notifications"
    assert COUNT.findall(client.get("/notifications/bell").text) == ["2"]
    unread_only = client.get("/notifications?unread=true")
    assert [i for i, _ in ITEM.findall(unread_only.text)] == [str(i) for i in reversed(mine[1:])]

    done = client.post("/notifications/read-all", data={"csrf_token": token})
    assert done.status_code == 200 and "已将2条通知标为已读" in done.text
    assert COUNT.findall(client.get("/notifications/bell").text) == []
    assert 'data-unread="0"' in client.get("/notifications/bell").text
    with db.session() as s:
        theirs = s.scalars(
            select(Notification).where(Notification.recipient == service.staff_recipient(other))
        ).all()
        assert [n.read_at for n in theirs] == [None, None]


def test_opening_a_notification_reads_it_and_goes_to_its_ticket(
    client: TestClient, db: Database
) -> None:
    uid, name = _staff(db)
    (nid,) = _notify(db, uid, 1)
    token = sign_in(client, name)
    went = client.post(
        f"/notifications/{nid}/read",
        data={"csrf_token": token, "next": "/tickets/SR20261207-0000"},
        follow_redirects=False,
    )
    assert went.headers["location"] == "/tickets/SR20261207-0000"
    # Only a path of the portal: a link elsewhere goes back to the list.
    (nid2,) = _notify(db, uid, 1, template="engineer_rejected")
    away = client.post(
        f"/notifications/{nid2}/read",
        data={"csrf_token": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert away.headers["location"] == "/notifications"


def test_another_members_notification_is_not_found(client: TestClient, db: Database) -> None:
    _uid, name = _staff(db)
    other, _ = _staff(db, role="network_manager")
    (theirs,) = _notify(db, other, 1)
    token = sign_in(client, name)
    refused = client.post(f"/notifications/{theirs}/read", data={"csrf_token": token})
    assert refused.status_code == 404
    with db.session() as s:
        assert s.get_one(Notification, theirs).read_at is None


def test_the_list_reads_in_english_too(client: TestClient, db: Database) -> None:
    uid, name = _staff(db, role="finance")
    _notify(db, uid, 1)
    sign_in(client, name)
    client.cookies.set("lang", "en")
    page = client.get("/notifications")
    assert "1 unread" in page.text and "Mark all read" in page.text
    assert "New job SR20261207-0000 assigned to you: 洗衣机" in page.text
    empty = client.get("/notifications?unread=true&page=2")
    assert empty.status_code == 200 and "Nothing unread" in empty.text


def test_without_a_session_the_pages_ask_to_sign_in(client: TestClient) -> None:
    for path in ("/notifications", "/notifications/bell"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_the_portal_serves_its_icon(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    # An ICO header (reserved 0, type 1) naming its images, PNG-encoded.
    assert icon.content[:4] == b"\x00\x00\x01\x00" and b"\x89PNG" in icon.content
    # Pages link the copy under /static (one origin for every asset); both answer.
    assert 'rel="icon" href="http://testserver/static/favicon.ico"' in client.get("/login").text
    assert client.get("/static/favicon.ico").content == icon.content


def test_an_engineer_reads_them_in_the_field_app(client: TestClient, db: Database) -> None:
    """A tester opened the bell on the phone and landed on the desk's layout, whose "open"
    led to the staff ticket page instead of the job."""
    with db.session() as s:
        engineer = f.engineer(s, network=f.network(s))
        uid = engineer.user_id
        username = s.get_one(User, uid).username
    _notify(db, uid, 1)
    signed = client.post(
        "/login", data={"username": username, "password": f.PASSWORD, "next": "/notifications"}
    )
    assert signed.status_code == 200 and str(signed.url).endswith("/notifications")
    page = signed.text
    assert "field/field.css" in page and "portal.css" not in page
    assert 'value="/field/jobs/SR20261207-0000"' in page
    # The desk keeps its own frame and the staff ticket page.
    did, name = _staff(db)
    _notify(db, did, 1)
    client.post("/logout", data={"csrf_token": TOKEN.search(page).group(1)})  # type: ignore[union-attr]
    sign_in(client, name)
    desk = client.get("/notifications").text
    assert "portal.css" in desk and 'value="/tickets/SR20261207-0000"' in desk


def test_a_fragment_fetch_leaves_the_message_for_the_next_page(
    client: TestClient, db: Database
) -> None:
    """The consult desk's live lists were fetched between a POST and its redirect and took the
    flash meant for the page (seen in CI as a missing 已接单)."""
    _uid, name = _staff(db)
    token = sign_in(client, name)
    client.post("/notifications/read-all", data={"csrf_token": token}, follow_redirects=False)
    fragment = client.get("/notifications/bell", headers={"X-Fragment": "1"})
    assert fragment.status_code == 200
    assert 'data-testid="flash"' in client.get("/notifications").text
