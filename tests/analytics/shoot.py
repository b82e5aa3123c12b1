"""Screenshots of every dashboard over a database with the demo data, for docs/dashboards/.

    DATABASE_URL=sqlite:////tmp/demo.db .venv/bin/python -m portal migrate
    DATABASE_URL=sqlite:////tmp/demo.db .venv/bin/python -m portal seed-demo
    .venv/bin/python -m tests.analytics.shoot sqlite:////tmp/demo.db docs/dashboards

Runs the portal under uvicorn on a free port and drives headless Chromium (no download: the
system's /usr/bin/chromium, or CHROMIUM_PATH). The pages use the reader's system fonts, so
the machine needs a Chinese one for legible pictures (`apt-get install fonts-wqy-microhei`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from portal.config import Settings
from portal.main import create_app
from tests.e2e_fixtures import CHROMIUM, CHROMIUM_ARGS, serve

PAGES = (
    ("executive", "/analytics?period=90"),
    ("operations", "/analytics/operations?period=90"),
    ("people", "/analytics/people?period=30"),
    ("quality", "/analytics/quality?period=90"),
    ("eie", "/analytics/eie?period=90&by=network"),
    ("drilldown", "/analytics/tickets?period=90&measure=stage:t4&network=1"),
    ("map", "/analytics/map?period=90"),
    ("map-province", "/analytics/map?period=90&province=浙江省"),
    ("service", "/analytics/service?period=30"),
    ("rnd", "/analytics/rnd?period=180"),
    ("targets", "/analytics/targets"),
)


def shoot(url: str, out: Path, *, user: str = "admin", password: str = "admin123") -> list[Path]:
    """Save one full-page PNG per dashboard under `out`; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    settings = Settings(_env_file=None, database_url=url, secret_key="analytics-shots")
    saved: list[Path] = []
    with serve(create_app(settings)) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        page.goto(f"{base}/login")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url("**/tickets**")
        for name, path in PAGES:
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.an-chart, .an-map'))"
                ".every(el => el.dataset.drawn === '1')"
            )
            target = out / f"{name}.png"
            page.screenshot(path=str(target), full_page=True)
            saved.append(target)
            print(f"{name}: {target}")
        browser.close()
    return saved


if __name__ == "__main__":
    shoot(sys.argv[1], Path(sys.argv[2] if len(sys.argv) > 2 else "docs/dashboards"))
