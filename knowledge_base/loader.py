"""Reads a FAQ folder: finds the YAML files, parses them, validates every entry."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from knowledge_base.entry import Entry, Issue

YAML_SUFFIXES = (".yaml", ".yml")
REQUIRED = ("id", "question", "answer")
LIST_FIELDS = ("alternates", "tags", "products")
KNOWN = (*REQUIRED, *LIST_FIELDS, "lang")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
PRODUCT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$")
LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
ROOT_CATEGORY = "general"


@dataclass
class LoadResult:
    """Entries that validated, plus every issue found on the way."""

    entries: list[Entry] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        """Only the issues that block loading."""
        return [i for i in self.issues if i.severity == "error"]


def faq_files(faq_dir: Path) -> list[Path]:
    """YAML files under the folder, at any depth, in a stable order; hidden paths skipped."""
    found = []
    for path in faq_dir.rglob("*"):
        rel = path.relative_to(faq_dir)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and path.suffix in YAML_SUFFIXES:
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(faq_dir).as_posix())


def category_of(rel_path: str) -> str:
    """Folders are categories: `fault_codes/wm.yaml` is in `fault_codes`."""
    parent = Path(rel_path).parent.as_posix()
    return ROOT_CATEGORY if parent in ("", ".") else parent


def round_trip_yaml() -> YAML:
    """The parser used everywhere, so line numbers and comments are kept."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long Chinese lines on write
    return yaml


def parse_text(text: str, rel: str) -> tuple[Any, list[Issue]]:
    """Parse YAML text; a syntax error becomes an issue with its line."""
    try:
        return round_trip_yaml().load(text), []
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        return None, [Issue(rel, line, f"YAML syntax error: {problem}")]
    except YAMLError as exc:
        return None, [Issue(rel, None, f"YAML error: {exc}")]


def _line_of(node: Any, key: str | None, default: int) -> int:
    """1-based line of a key's value in a round-trip mapping, or the fallback."""
    try:
        if key is not None:
            return int(node.lc.value(key)[0]) + 1
    except (AttributeError, KeyError, TypeError):
        pass
    return default


def _text(value: Any) -> str | None:
    """A scalar as plain str, or None if it is not a string."""
    return str(value) if isinstance(value, str) else None


def validate_item(item: Any, rel: str, line: int) -> tuple[Entry | None, list[Issue]]:
    """Check one list item against the entry schema and build the Entry."""
    if not isinstance(item, Mapping):
        return None, [Issue(rel, line, "entry must be a mapping with id, question and answer")]
    issues: list[Issue] = []
    raw_id = item.get("id")
    raw_text = _text(raw_id)
    entry_id = raw_text.strip() if raw_text else None

    def err(key: str | None, message: str) -> None:
        issues.append(Issue(rel, _line_of(item, key, line), message, entry_id=entry_id))

    for key in item:
        if key not in KNOWN:
            err(str(key), f"unknown field {key!r} (allowed: {', '.join(KNOWN)})")
    for key in REQUIRED:
        if key not in item:
            err(None, f"missing required field {key!r}")
        elif _text(item[key]) is None:
            err(key, f"field {key!r} must be a string")
        elif not str(item[key]).strip():
            err(key, f"field {key!r} is empty" + (" (empty answer)" if key == "answer" else ""))
    if entry_id and not ID_RE.match(entry_id):
        err("id", f"id {entry_id!r} may only use letters, digits, '.', '_' and '-'")
    lists: dict[str, tuple[str, ...]] = {}
    for key in LIST_FIELDS:
        value = item.get(key)
        if value is None:
            lists[key] = ()
            continue
        if not isinstance(value, list) or not all(_text(v) for v in value):
            err(key, f"field {key!r} must be a list of non-empty strings")
            continue
        lists[key] = tuple(str(v).strip() for v in value if str(v).strip())
    for code in lists.get("products", ()):
        if not PRODUCT_RE.match(code):
            err("products", f"product code {code!r} looks wrong (expected e.g. WM-100)")
    lang = item.get("lang", "zh")
    if _text(lang) is None or not LANG_RE.match(str(lang)):
        err("lang", f"lang {lang!r} must be a language code such as zh or en")
    if issues:
        return None, issues
    entry = Entry(
        id=str(entry_id),
        question=str(item["question"]).strip(),
        answer=str(item["answer"]).strip(),
        alternates=lists["alternates"],
        tags=lists["tags"],
        products=tuple(p.upper() for p in lists["products"]),
        lang=str(lang),
        category=category_of(rel),
        source=rel,
        line=line,
    )
    return entry, []


def parse_entries(data: Any, rel: str) -> tuple[list[Entry], list[Issue]]:
    """Validate a parsed file: a list of entry mappings (an empty file is fine)."""
    if data is None:
        return [], []
    if not isinstance(data, list):
        return [], [Issue(rel, 1, "a FAQ file must be a YAML list of entries")]
    entries: list[Entry] = []
    issues: list[Issue] = []
    for index, item in enumerate(data):
        try:
            line = int(data.lc.item(index)[0]) + 1  # type: ignore[attr-defined]
        except (AttributeError, KeyError, TypeError):
            line = 1
        entry, found = validate_item(item, rel, line)
        issues.extend(found)
        if entry is not None:
            entries.append(entry)
    return entries, issues


def load_file(path: Path, rel: str) -> tuple[list[Entry], list[Issue]]:
    """Parse and validate one FAQ file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Issue(rel, None, f"cannot read file: {exc}")]
    data, issues = parse_text(text, rel)
    if issues:
        return [], issues
    return parse_entries(data, rel)


def duplicate_ids(entries: Iterable[Entry]) -> list[Issue]:
    """An id must be unique across the whole folder; report every later copy."""
    first: dict[str, Entry] = {}
    issues = []
    for entry in entries:
        seen = first.setdefault(entry.id, entry)
        if seen is not entry:
            issues.append(
                Issue(
                    entry.source,
                    entry.line,
                    f"duplicate id {entry.id!r} (first defined at {seen.source}:{seen.line})",
                    entry_id=entry.id,
                )
            )
    return issues


def load_dir(faq_dir: Path | str) -> LoadResult:
    """Load every FAQ file under a folder; errors are collected, never raised."""
    root = Path(faq_dir)
    result = LoadResult()
    if not root.is_dir():
        result.issues.append(Issue(str(root), None, "FAQ folder does not exist"))
        return result
    for path in faq_files(root):
        rel = path.relative_to(root).as_posix()
        entries, issues = load_file(path, rel)
        result.entries.extend(entries)
        result.issues.extend(issues)
    result.issues.extend(duplicate_ids(result.entries))
    return result
