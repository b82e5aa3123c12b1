"""What the process stack writes for Rasa in the scaled topology."""

from __future__ import annotations

from pathlib import Path

from portal.config import Settings
from portal.stack import rasa_lock_prefix


def test_the_rasa_lock_prefix_is_one_rasa_accepts_and_stays_per_deployment() -> None:
    # Rasa's Redis lock store drops a prefix that is not alphanumeric and falls back to a
    # shared "lock:", which would make two deployments on one Redis share their locks.
    for ours in ("aftersales:", "aftersales-load:", "test-0a1b2c:", "租户:a"):
        assert rasa_lock_prefix(ours).isalnum()
        assert rasa_lock_prefix(ours).isascii()
    assert rasa_lock_prefix("test-0a1b2c:") != rasa_lock_prefix("test-9f8e7d:")


def test_child_processes_get_no_setting_spelled_none(tmp_path: Path) -> None:
    """`make run`'s workers read their settings from the environment the stack writes: an
    unset UPLOAD_DIR written as "None" put their uploads in a folder called None."""
    settings = Settings(_env_file=None, var_dir=tmp_path, upload_dir=None)
    env = settings.as_env()
    assert "None" not in env.values()
    assert "UPLOAD_DIR" not in env
    child = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})
    assert child.uploads_path == tmp_path / "uploads" == settings.uploads_path
    chosen = Settings(_env_file=None, var_dir=tmp_path, upload_dir=tmp_path / "files")
    assert chosen.as_env()["UPLOAD_DIR"] == str(tmp_path / "files")
