"""The lock files pin what the declared requirements ask for (scripts/lock.sh makes them).

`make setup` installs only what the locks pin, with hashes; a dependency added to
pyproject.toml or bot/requirements.txt without `make lock` would silently not be installed.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def pins(lock: Path) -> dict[str, Version]:
    """Package name -> pinned version; every pin must carry at least one hash."""
    found: dict[str, Version] = {}
    lines = lock.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        match = PIN.match(line)
        if not match:
            continue
        following = lines[number + 1] if number + 1 < len(lines) else ""
        assert "--hash=sha256:" in following, f"{lock.name}: {match[1]} is pinned without a hash"
        found[canonicalize_name(match[1])] = Version(match[2])
    return found


def declared_portal() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    return [Requirement(r) for r in declared]


def declared_bot() -> list[Requirement]:
    lines = (ROOT / "bot" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]


def unmet(requirements: list[Requirement], locked: dict[str, Version]) -> list[str]:
    missing = []
    for requirement in requirements:
        version = locked.get(canonicalize_name(requirement.name))
        if version is None:
            missing.append(f"{requirement} is not in the lock")
        elif not requirement.specifier.contains(version, prereleases=True):
            missing.append(f"{requirement} but the lock pins {version}")
    return missing


@pytest.mark.parametrize(
    ("lock", "declared"),
    [("requirements.lock", declared_portal), ("bot/requirements.lock", declared_bot)],
)
def test_the_lock_pins_every_declared_requirement(lock, declared) -> None:
    problems = unmet(declared(), pins(ROOT / lock))
    assert not problems, f"run `make lock`: {problems}"


def test_the_portal_lock_takes_the_cpu_build_of_torch() -> None:
    locked = pins(ROOT / "requirements.lock")
    assert str(locked["torch"]).endswith("+cpu")
    assert not [name for name in locked if name.startswith("nvidia-")]


def test_a_requirement_missing_from_the_lock_is_reported() -> None:
    problems = unmet([Requirement("fastapi>=999")], {"fastapi": Version("0.121.0")})
    assert problems == ["fastapi>=999 but the lock pins 0.121.0"]
    assert unmet([Requirement("nothere")], {}) == ["nothere is not in the lock"]
