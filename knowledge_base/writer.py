"""Writes an edited or new entry back to its YAML file, keeping the file's layout and comments."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString
from ruamel.yaml.util import load_yaml_guess_indent

from knowledge_base.entry import Entry, FAQError, Issue
from knowledge_base.loader import (
    KNOWN,
    LIST_FIELDS,
    YAML_SUFFIXES,
    parse_entries,
    parse_text,
    round_trip_yaml,
    validate_item,
)


def _as_fields(entry: Entry | Mapping[str, Any]) -> dict[str, Any]:
    """Accept an Entry or a plain mapping; keep only schema fields, in schema order."""
    raw = entry.to_dict() if isinstance(entry, Entry) else dict(entry)
    return {k: raw[k] for k in KNOWN if k in raw and raw[k] not in (None, [], ())} | {
        k: v for k, v in raw.items() if k not in KNOWN
    }


def _yaml_value(key: str, value: Any, old: Any) -> Any:
    """A value shaped for ruamel: block literal for multi-line text, the old list style kept."""
    if key in LIST_FIELDS:
        seq = CommentedSeq([str(v) for v in value])
        if isinstance(old, CommentedSeq) and old.fa.flow_style():
            seq.fa.set_flow_style()
        return seq
    text = str(value)
    if "\n" in text.strip():
        return LiteralScalarString(text.strip("\n") + "\n")
    return text


def _update(target: CommentedMap, fields: Mapping[str, Any]) -> None:
    """Change a mapping in place so untouched keys keep their comments and position."""
    for key in [k for k in target if k not in fields]:
        del target[key]
    for key, value in fields.items():
        old = target.get(key)
        if key in target and _same(old, value):
            continue
        new = _yaml_value(key, value, old)
        if key in target:
            target[key] = new
        elif key != "answer" and "answer" in target:
            # New optional fields go before the answer, which usually is the long block.
            target.insert(list(target).index("answer"), key, new)
        else:
            target[key] = new


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, list) or isinstance(new, (list, tuple)):
        return isinstance(old, list) and [str(v) for v in old] == [str(v) for v in new]
    return str(old).strip() == str(new).strip()


def safe_rel_path(faq_dir: Path, rel: str) -> Path:
    """Resolve a file path given relative to the FAQ folder, refusing anything outside it."""
    root = faq_dir.resolve()
    target = (root / rel).resolve()
    if root not in target.parents or target.suffix not in YAML_SUFFIXES:
        raise FAQError([Issue(rel, None, "file must be a .yaml file inside the FAQ folder")])
    return target


def write_entry(
    faq_dir: Path,
    entry: Entry | Mapping[str, Any],
    *,
    existing: Entry | None,
    others: Iterable[Entry],
    path: str | None = None,
) -> Entry:
    """Validate, then write one entry into its file atomically; returns the entry as reloaded.

    `existing` is the entry being edited (None for a new one); `others` are all
    entries, used to refuse an id that is already taken.
    """
    fields = _as_fields(entry)
    rel = existing.source if existing else path
    if not rel:
        raise FAQError([Issue("", None, "a new entry needs the file to write it to")])
    target = safe_rel_path(faq_dir, rel)
    checked, issues = validate_item(fields, rel, existing.line if existing else 0)
    if checked is None:
        raise FAQError(issues)
    taken = {e.id: e for e in others if existing is None or e.id != existing.id}
    if checked.id in taken:
        dup = taken[checked.id]
        raise FAQError(
            [Issue(rel, None, f"id {checked.id!r} already used at {dup.source}:{dup.line}")]
        )

    text = target.read_text(encoding="utf-8") if target.exists() else ""
    data, issues = parse_text(text, rel)
    if issues:
        raise FAQError(issues)
    yaml = round_trip_yaml()
    if text.strip():
        _, indent, block_seq_indent = load_yaml_guess_indent(text)
        yaml.indent(
            mapping=indent or 2,
            sequence=(indent or 2) + (block_seq_indent or 0),
            offset=block_seq_indent or 0,
        )
    else:
        yaml.indent(mapping=2, sequence=2, offset=0)
    if data is None:
        data = CommentedSeq()
    if existing is None:
        item = CommentedMap()
        _update(item, fields)
        data.append(item)
    else:
        matches = [
            m for m in data if isinstance(m, CommentedMap) and str(m.get("id")) == existing.id
        ]
        if not matches:
            raise FAQError([Issue(rel, None, f"entry {existing.id!r} is no longer in this file")])
        _update(matches[0], fields)

    out = io.StringIO()
    yaml.dump(data, out)
    new_text = out.getvalue()
    reparsed, issues = parse_text(new_text, rel)
    entries, issues = parse_entries(reparsed, rel) if not issues else ([], issues)
    if issues:
        raise FAQError(issues)
    _atomic_write(target, new_text)
    return next(e for e in entries if e.id == checked.id)


def remove_entry(faq_dir: Path, existing: Entry) -> None:
    """Delete one entry from its file, keeping the rest of the file as it was."""
    target = safe_rel_path(faq_dir, existing.source)
    text = target.read_text(encoding="utf-8")
    data, issues = parse_text(text, existing.source)
    if issues:
        raise FAQError(issues)
    _, indent, block_seq_indent = load_yaml_guess_indent(text)
    yaml = round_trip_yaml()
    yaml.indent(
        mapping=indent or 2,
        sequence=(indent or 2) + (block_seq_indent or 0),
        offset=block_seq_indent or 0,
    )
    keep = [
        i
        for i, m in enumerate(data)
        if not (isinstance(m, Mapping) and str(m.get("id")) == existing.id)
    ]
    for index in sorted(set(range(len(data))) - set(keep), reverse=True):
        del data[index]
    out = io.StringIO()
    yaml.dump(data, out)
    _atomic_write(target, out.getvalue())


def _atomic_write(target: Path, text: str) -> None:
    """Write beside the file and rename over it, so a reader never sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
