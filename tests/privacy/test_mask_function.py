"""The masked form of a phone number, in free text, and as a schema field."""

from __future__ import annotations

from pydantic import BaseModel

from portal.privacy.masking import MaskedPhone, mask_phone, mask_phones_in


def test_the_masked_form() -> None:
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("") == ""
    assert mask_phone("erased:12") == ""
    assert (
        mask_phones_in("电话13800138000，备用 13912345678。")
        == "电话138****8000，备用 139****5678。"
    )
    # Not a mobile number: serial numbers and ticket numbers stay as they are.
    assert mask_phones_in("SR20261207-0001 SN123456789012") == "SR20261207-0001 SN123456789012"

    class Row(BaseModel):
        phone: MaskedPhone

    assert Row(phone="13800138000").model_dump() == {"phone": "138****8000"}
    assert Row(phone="13800138000").model_dump_json() == '{"phone":"138****8000"}'
