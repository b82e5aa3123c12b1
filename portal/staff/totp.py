"""2-step verification for staff: TOTP codes (RFC 6238, what every authenticator app reads),
the enrolment QR code drawn as inline SVG on the server, and single-use recovery codes.

Times are passed in (`now`), so tests step a clock instead of sleeping.

The secret is kept sealed (AES-GCM under a key derived from the app's SECRET_KEY): a copy of
the database alone cannot mint codes. A row written before sealing (the plain base32 secret)
still works and is sealed the next time a code of it is accepted. Changing SECRET_KEY
therefore means every user with 2-step verification sets it up again (docs/security.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from datetime import datetime

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.staff.models import RecoveryCode

# A code is accepted for its own 30-second step and the one either side (clock drift, the
# time it takes to type), but never for a step at or before the last one accepted.
DRIFT_STEPS = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


SECRET = re.compile(r"^[A-Z2-7]{32}$")


_SEAL_INFO = b"aftersales staff totp secret v1"
_SEAL_AAD = b"totp"
_NONCE = 12


def sealing_key(secret_key: str) -> bytes:
    """The key that seals TOTP secrets, derived from the app's SECRET_KEY (HKDF-SHA256)."""
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEAL_INFO)
    return kdf.derive(secret_key.encode())


def seal(secret: str, key: bytes) -> str:
    """A base32 secret sealed for storage: nonce + ciphertext + tag, base64url (64 chars)."""
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(key).encrypt(nonce, base64.b32decode(secret), _SEAL_AAD)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(stored: str, key: bytes) -> str | None:
    """The base32 secret of a stored value (sealed, or plain from before sealing); None when
    it cannot be opened with this key (SECRET_KEY changed, or the value was tampered with)."""
    if SECRET.match(stored):
        return stored
    try:
        raw = base64.urlsafe_b64decode(stored.encode())
        plain = AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], _SEAL_AAD)
    except (InvalidTag, ValueError, binascii.Error):
        return None
    return base64.b32encode(plain).decode()


def new_secret() -> str:
    """A fresh base32 secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, *, username: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The QR code of `uri` as an inline <svg> element (no image file, no script, offline)."""
    return str(
        segno.make(uri, error="m").svg_inline(scale=5, dark="#111", light="#fff", omitsize=True)
    )


def code_at(secret: str, now: datetime) -> str:
    """The code an authenticator shows at `now` (for tests and the enrolment check)."""
    return str(pyotp.TOTP(secret).at(now))


def _normalised(code: str) -> str:
    return "".join(ch for ch in code if not ch.isspace() and ch != "-").lower()


def matching_step(secret: str, code: str, *, now: datetime, after: int | None) -> int | None:
    """The time step `code` belongs to (within the drift, later than `after`), or None."""
    code = _normalised(code)
    if len(code) != 6 or not code.isdigit() or not SECRET.match(secret):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def check_code(user: User, code: str, *, now: datetime, key: bytes) -> bool:
    """Whether `code` is a current TOTP code of this user's confirmed secret; a code once
    accepted is not accepted again (the step is remembered). A secret stored plain from
    before sealing is sealed once a code of it is accepted."""
    if not user.totp_secret:
        return False
    secret = unseal(user.totp_secret, key)
    if secret is None:
        return False
    step = matching_step(secret, code, now=now, after=user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    if user.totp_secret == secret:
        user.totp_secret = seal(secret, key)
    return True


def enable(
    session: Session, *, user: User, secret: str, code: str, now: datetime, key: bytes
) -> list[str]:
    """Turn 2-step verification on once `code` proves the app holds `secret`: the new
    recovery codes (shown once), or [] when the code does not match."""
    step = matching_step(secret, code, now=now, after=None)
    if step is None:
        return []
    user.totp_secret = seal(secret, key)
    user.totp_last_step = step
    user.totp_enabled_at = now
    session.flush()
    return new_recovery_codes(session, user=user)


def disable(session: Session, *, user: User) -> None:
    """Turn 2-step verification off and drop the recovery codes."""
    user.totp_secret = None
    user.totp_last_step = None
    user.totp_enabled_at = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()


def _digest(code: str) -> str:
    return hashlib.sha256(_normalised(code).encode()).hexdigest()


def new_recovery_codes(session: Session, *, user: User) -> list[str]:
    """Replace the user's recovery codes with new ones; the plain codes are returned once."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_digest(c)) for c in codes)
    session.flush()
    return codes


def use_recovery_code(session: Session, *, user: User, code: str, now: datetime) -> bool:
    """Whether `code` is one of the user's unused recovery codes; it is used up if so."""
    if len(_normalised(code)) != 10:
        return False
    row = session.scalars(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _digest(code),
            RecoveryCode.used_at.is_(None),
        )
    ).first()
    if row is None:
        return False
    row.used_at = now
    session.flush()
    return True


def recovery_left(session: Session, *, user_id: int) -> int:
    """How many recovery codes the user has not used."""
    return len(
        session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def second_factor(session: Session, *, user: User, code: str, now: datetime, key: bytes) -> bool:
    """A login's second step: a current TOTP code, or an unused recovery code."""
    if check_code(user, code, now=now, key=key):
        session.flush()
        return True
    return use_recovery_code(session, user=user, code=code, now=now)
