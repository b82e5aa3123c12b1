"""What the process stack writes for Rasa in the scaled topology."""

from __future__ import annotations

from portal.stack import rasa_lock_prefix


def test_the_rasa_lock_prefix_is_one_rasa_accepts_and_stays_per_deployment() -> None:
    # Rasa's Redis lock store drops a prefix that is not alphanumeric and falls back to a
    # shared "lock:", which would make two deployments on one Redis share their locks.
    for ours in ("aftersales:", "aftersales-load:", "test-0a1b2c:", "租户:a"):
        assert rasa_lock_prefix(ours).isalnum()
        assert rasa_lock_prefix(ours).isascii()
    assert rasa_lock_prefix("test-0a1b2c:") != rasa_lock_prefix("test-9f8e7d:")
