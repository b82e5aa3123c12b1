"""Issue 18, finding 7 (headers): every response carries a strict CSP (no inline script, no
framing), nosniff, a Referrer-Policy and, over https, HSTS; the templates hold no inline
script; and every page runs in Chromium without one CSP violation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from portal import wiring
from portal.config import ROOT, Settings
from portal.main import create_app
from portal.migrate import upgrade
from tests.app_fixtures import FakeRasa
from tests.e2e_fixtures import serve

TEMPLATES = ROOT / "portal" / "templates"
PATHS = ("/login", "/static/portal.css", "/api/v1/tickets", "/no/such/page", "/livez", "/my/login")


def _directives(csp: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in csp.split(";") if part.strip())


@pytest.mark.parametrize("path", PATHS)
def test_every_response_carries_the_headers(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    headers = response.headers
    csp = _directives(headers["content-security-policy"])
    assert csp["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval', no host
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert csp["default-src"] == "'self'" and csp["base-uri"] == "'self'"
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in headers  # PUBLIC_URL is not https here


def test_hsts_when_the_public_url_is_https(settings: Settings, fake_rasa: FakeRasa) -> None:
    public = settings.model_copy(update={"public_url": "https://service.example.com"})
    app = create_app(public, http_transport=httpx.MockTransport(fake_rasa.handler))
    with TestClient(app) as client:
        response = client.get("/login")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_the_templates_hold_no_inline_script() -> None:
    inline, handlers = [], []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'type="application/json"' not in tag:
                inline.append(f"{path.relative_to(ROOT)}: {tag}")
        handlers += [f"{path.relative_to(ROOT)}: {m}" for m in re.findall(r"\son[a-z]+=", text)]
        if "javascript:" in text:
            handlers.append(f"{path.relative_to(ROOT)}: javascript: URL")
    assert inline == [] and handlers == []


# ---------------------------------------------------------------- every page in Chromium

# Staff pages by role (the demo logins); the customer pages and the widget anonymously.
STAFF_PAGES = {
    "admin": [
        "/tickets",
        "/tickets/{ticket}",
        "/customers",
        "/customers/{customer}",
        "/console",
        "/consults",
        "/analytics",
        "/analytics/map",
        "/analytics/service",
        "/analytics/rnd",
        "/analytics/targets",
        "/parts/stock",
        "/settlement",
        "/knowledge",
        "/maintenance",
        "/sop",
        "/dispatch",
        "/complaints",
        "/revisits",
        "/quality",
        "/quality/repeats",
        "/settlement/cost-centres",
        "/staff",
    ],
    "engineer": ["/field"],
}
PUBLIC_PAGES = ["/", "/login", "/my/login", "/my/help", "/my", "/my/search?q=E21"]
CSP_LISTENER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture(scope="module")
def demo_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The portal with a small demo world, served on a free port; Rasa faked."""
    from portal.customers.models import Customer
    from portal.demo.seed import seed
    from portal.tickets.models import Ticket

    var = tmp_path_factory.mktemp("csp")
    url = f"sqlite:///{var / 'portal.db'}"
    upgrade(url)
    settings = Settings(_env_file=None, var_dir=var, database_url=url, demo_mode=True)
    db = wiring.database(settings)
    with db.session() as s:
        seed(s, size="full", tickets=12, progress=False)
    with db.session() as s:
        ticket = s.query(Ticket.number).order_by(Ticket.id).first()
        customer = s.query(Customer.id).order_by(Customer.id).first()
        ids = {"ticket": ticket[0] if ticket else "", "customer": customer[0] if customer else ""}
    db.dispose()
    app = create_app(settings, http_transport=httpx.MockTransport(FakeRasa().handler))
    with serve(app) as base:
        yield {"url": base, "ids": ids}


# An image address the policy refuses (img-src): the test's own violation, the barrier.
PROBE = "https://csp-probe.invalid/barrier.png"


def _violations(page: Any) -> list[str]:
    """The page's CSP violations so far. A violation of our own, made now, is reported after
    every one the page made before it: wait for it instead of waiting a while."""
    page.evaluate("(src) => { new Image().src = src; }", PROBE)
    page.wait_for_function("(src) => window.__csp.some((v) => v.includes(src))", arg=PROBE)
    return [v for v in page.evaluate("window.__csp") if PROBE not in v]


def _visit(page: Any, url: str, seen: dict[str, list[str]]) -> None:
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status < 500, (url, response and response.status)
    # Scripts that start after load (charts fetching their data, the bell) have run once
    # every request the page made is answered.
    page.wait_for_load_state("networkidle")
    found = _violations(page)
    if found:
        seen[url] = found


@pytest.mark.e2e
def test_no_page_violates_the_csp(demo_portal: dict[str, Any], browser: Any) -> None:
    base, ids = demo_portal["url"], demo_portal["ids"]
    seen: dict[str, list[str]] = {}
    console_errors: list[str] = []
    for role, paths in {None: PUBLIC_PAGES, **STAFF_PAGES}.items():
        context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        page.on(
            "console",
            lambda m: (
                console_errors.append(m.text)
                if m.type == "error" and "Content Security Policy" in m.text and PROBE not in m.text
                else None
            ),
        )
        if role is not None:
            page.goto(f"{base}/login")
            page.fill("input[name=username]", role)
            page.fill("input[name=password]", f"{role}123")
            page.click("button[type=submit]")
            page.wait_for_load_state("load")
        for path in paths:
            _visit(page, base + path.format(**ids), seen)
        if role is None:  # the widget opens its chat and socket on the demo page
            page.goto(f"{base}/")
            page.locator("[data-testid=aftersales-launcher]").click()
            page.locator("[data-testid=aftersales-input]").wait_for()
            # Its socket is open and its history shown: what the widget does on opening.
            page.locator('.as-status[data-state="online"]').wait_for(state="attached")
            found = _violations(page)
            if found:
                seen["/ (widget open)"] = found
        context.close()
    assert seen == {} and console_errors == []


def test_the_sweep_covers_every_staff_section() -> None:
    # A new staff section in the navigation should join the sweep above.
    nav = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    sections = set(re.findall(r"\('(/[a-z/]+)', 'ui\.nav\.", nav))
    assert sections <= set(STAFF_PAGES["admin"]), sections - set(STAFF_PAGES["admin"])


def test_no_template_is_left_out_of_the_static_check() -> None:
    assert len(list(Path(TEMPLATES).rglob("*.html"))) > 20
