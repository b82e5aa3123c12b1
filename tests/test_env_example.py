"""`.env.example` documents every setting that portal/config.py reads, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from portal.config import Settings

EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"
# A setting, commented out (`# NAME=`) or set (`NAME=`).
LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=")
# Read by a library, not by Settings: documented all the same.
LIBRARY = {"PROMETHEUS_MULTIPROC_DIR"}  # prometheus_client's multiprocess mode


def documented() -> set[str]:
    return {
        match[1]
        for line in EXAMPLE.read_text(encoding="utf-8").splitlines()
        if (match := LINE.match(line.strip()))
    }


def test_every_setting_is_in_env_example_and_only_those() -> None:
    settings = {name.upper() for name in Settings.model_fields}
    assert sorted(settings - documented()) == [], "settings missing from .env.example"
    unread = documented() - settings - LIBRARY
    assert sorted(unread) == [], ".env.example names settings nobody reads"
