"""What fresh-eyed testers found in the engineer's app, in Chromium on a 390 px phone against
the real app: a refused work record keeps everything typed and says why next to the form; the
quote offers only van parts that fit the ticket's product.

Screenshots: field-record-refused-390.png, field-quote-fit-390.png (SCREENSHOT_DIR).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from portal.networks.models import Engineer
from portal.parts import service as parts
from portal.parts.models import Part
from tests.field.quotes_support import PUMP, build
from tests.page_support import SHOTS, served_portal
from tests.portal import factories as f

pytestmark = pytest.mark.e2e

AC_FAN = "AC-FAN-09"  # an air-conditioner part, carried in the same van


def _world(db: Any) -> dict[str, Any]:
    world = build(db)
    with db.session() as s:
        fan = parts.create_part(
            s,
            part=Part(
                code=AC_FAN,
                name="空调风扇电机",
                category="空调",
                compatible_models=[],
                unit_cost=Decimal("60.00"),
                unit_price=Decimal("120.00"),
            ),
        )
        van = parts.van_location(s, engineer=s.get_one(Engineer, world.engineer_id))
        parts.receive(s, location=van, part=fan, quantity=2, actor="system:test")
    return {"world": world}


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The portal on a free port: an out-of-warranty washing-machine job on site."""
    with served_portal(tmp_path_factory.mktemp("field-fixes"), _world) as running:
        yield running


@pytest.fixture
def phone(browser: Browser, portal: dict[str, Any]) -> Iterator[Page]:
    """The engineer signed in on a 390 px phone, on the job's page."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    page = context.new_page()
    base, world = portal["base"], portal["world"]
    page.goto(f"{base}/login?next=/field/jobs/{world.ticket}")
    page.fill("input[name=username]", world.username)
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/field/jobs/{world.ticket}")
    yield page
    context.close()


def test_a_refused_work_record_keeps_what_was_typed(phone: Page) -> None:
    """A tester typed a long record with more pumps than the van holds: the server refused it
    and the form came back empty."""
    page = phone
    diagnosis = "排水泵叶轮断裂，E21 报警；" * 3
    work = "更换排水泵两只，清理滤网，试机 10 分钟正常"
    page.fill("[data-testid=diagnosis]", diagnosis)
    page.fill("[data-testid=work-done]", work)
    page.fill("[data-testid=part-0]", PUMP)
    page.fill("[data-testid=qty-0]", "5")  # three in the van
    page.fill("[data-testid=part-1]", "密封圈")
    page.fill("[data-testid=qty-1]", "2")
    page.locator("[data-testid=save-record]").tap()
    error = page.locator("[data-testid=record-error]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("排水泵")
    expect(error).to_be_in_viewport()
    # Not under the sticky top bar either (a tester saw the page land with it hidden there).
    shown, bar = error.bounding_box(), page.locator(".fbar").bounding_box()
    assert shown is not None and bar is not None and shown["y"] >= bar["y"] + bar["height"] - 1
    expect(page.locator("[data-testid=diagnosis]")).to_have_value(diagnosis.strip())
    expect(page.locator("[data-testid=work-done]")).to_have_value(work)
    expect(page.locator("[data-testid=part-0]")).to_have_value(PUMP)
    expect(page.locator("[data-testid=qty-0]")).to_have_value("5")
    expect(page.locator("[data-testid=part-1]")).to_have_value("密封圈")
    expect(page.locator("[data-testid=qty-1]")).to_have_value("2")
    page.screenshot(path=str(SHOTS / "field-record-refused-390.png"))
    # Corrected, it saves.
    page.fill("[data-testid=qty-0]", "2")
    page.locator("[data-testid=save-record]").tap()
    expect(page.locator("[data-testid=flash]")).to_have_text("工作记录已保存")
    expect(page.locator("[data-testid=diagnosis]")).to_have_value(diagnosis.strip())


def test_the_quote_offers_only_van_parts_that_fit_the_product(
    phone: Page, portal: dict[str, Any]
) -> None:
    """A tester's quote list offered an air-conditioner fan motor for a washing machine."""
    page = phone
    select = page.locator("[data-testid=quote-part-0]")
    options = select.locator("option").evaluate_all("els => els.map(e => e.value)")
    assert PUMP in options and AC_FAN not in options
    unfit = page.locator("[data-testid=quote-unfit]")
    expect(unfit).to_contain_text("空调风扇电机")
    page.evaluate("document.querySelector('[data-testid=quote]').scrollIntoView()")
    page.screenshot(path=str(SHOTS / "field-quote-fit-390.png"))
    # A hand-made form naming the unfit part is refused, with the part named.
    base, world = portal["base"], portal["world"]
    token = page.locator("form[action$='/quote'] input[name=csrf_token]").input_value()
    answer = page.request.post(
        f"{base}/field/jobs/{world.ticket}/quote",
        form={"csrf_token": token, "part": AC_FAN, "qty": "1"},
    )
    assert "空调风扇电机" in answer.text() and "不适配" in answer.text()


INK = """canvas => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let dark = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] < 100) dark++;
  return dark;
}"""


def test_a_signature_without_the_signer_s_name_is_refused_with_the_drawing_kept(
    phone: Page,
) -> None:
    """A tester saved a signature with the name field cleared: the portal took it."""
    page = phone
    pad = page.locator("[data-testid=signature-pad]")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 30, box["y"] + 60)
    page.mouse.down()
    for i in range(1, 16):
        page.mouse.move(box["x"] + 30 + i * 16, box["y"] + 60 + (i % 4) * 15, steps=2)
    page.mouse.up()
    name = page.locator("[data-testid=signed-by]")
    name.fill("")
    expect(name).to_have_attribute("required", "")
    # A browser that does not check required fields: the portal refuses it itself.
    name.evaluate("el => el.removeAttribute('required')")
    page.locator("[data-testid=save-signature]").tap()
    error = page.locator("[data-testid=signature-error]")
    expect(error).to_contain_text("请填写签名人姓名")
    expect(error).to_be_in_viewport()
    page.wait_for_function(f"({INK})(document.querySelector('[data-testid=signature-pad]')) > 50")
    page.screenshot(path=str(SHOTS / "field-signature-refused-390.png"))
    page.fill("[data-testid=signed-by]", "王女士")
    page.locator("[data-testid=save-signature]").tap()
    expect(page.locator("[data-testid=flash]")).to_have_text("客户签名已保存")
    expect(page.locator("[data-testid=signed] figcaption")).to_contain_text("王女士")
