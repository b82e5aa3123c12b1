"""Which way the imports run (docs/architecture.md), checked on the source: the ticket core
imports none of the domains that subscribe to its events (not even through another module),
`channels` and `knowledge_base` import no `portal`, `bot` imports none of the three, and no
module in `portal` hides an import in a function, behind `importlib` or `except ImportError`
to get around a cycle."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from portal import wiring
from portal.security import Role

ROOT = Path(__file__).resolve().parents[1]
CORE = ("portal.tickets.models", "portal.tickets.lifecycle", "portal.tickets.service")
OURS = ("portal", "channels", "knowledge_base", "bot")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imported(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    """The absolute names an import statement brings in (`from a import b` gives a and a.b)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".")[: -node.level]
        base = ".".join([*package, base] if base else package)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def _top_level_imports(path: Path) -> Iterator[tuple[int, str]]:
    """Imports that run when the module loads (not those inside functions)."""
    module = _module_name(path)
    for node in _tree(path).body:
        for inner in ast.walk(node):
            if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                break
            if isinstance(inner, ast.Import | ast.ImportFrom):
                for name in _imported(inner, module):
                    yield inner.lineno, name


def _all_imports(path: Path) -> Iterator[tuple[int, str]]:
    module = _module_name(path)
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for name in _imported(node, module):
                yield node.lineno, name


@cache
def _portal_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in _files("portal")}


def _closure(start: str) -> dict[str, str]:
    """Every portal module `start` loads, each with the module that imported it first."""
    modules = _portal_modules()
    seen: dict[str, str] = {start: ""}
    todo = [start]
    while todo:
        current = todo.pop()
        for _, name in _top_level_imports(modules[current]):
            if name in modules and name not in seen:
                seen[name] = current
                todo.append(name)
    return seen


def _subscriber_domains() -> set[str]:
    """The packages of the registered subscribers (portal.sla, portal.parts …)."""
    return {".".join(s.__module__.split(".")[:2]) for s in wiring.SUBSCRIBERS}


def test_the_subscribers_come_from_six_domains() -> None:
    assert _subscriber_domains() == {
        "portal.consults",
        "portal.parts",
        "portal.settlement",
        "portal.sla",
        "portal.complaints",
        "portal.notifications",
    }


@pytest.mark.parametrize("core", CORE)
def test_the_ticket_core_imports_no_subscribing_domain(core: str) -> None:
    domains = _subscriber_domains()
    path = _portal_modules()[core]
    bad = [
        f"{core}:{line} imports {name}"
        for line, name in _all_imports(path)
        if any(name == d or name.startswith(d + ".") for d in domains)
    ]
    assert bad == []


@pytest.mark.parametrize("core", CORE)
def test_the_ticket_core_never_loads_a_subscriber(core: str) -> None:
    # Not even through another module: a subscriber imports the core, so that would be a cycle.
    subscribers = {s.__module__ for s in wiring.SUBSCRIBERS}
    loaded = _closure(core)
    bad = []
    for name in subscribers & loaded.keys():
        chain, by = [name], loaded[name]
        while by:
            chain.append(by)
            by = loaded[by]
        bad.append(" <- ".join(chain))
    assert bad == [], "the ticket core reaches a subscriber:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("channels", ("portal",)),
        ("knowledge_base", ("portal", "channels", "bot")),
        ("bot", ("portal", "channels", "knowledge_base")),
    ],
)
def test_libraries_do_not_import_the_portal(package: str, forbidden: tuple[str, ...]) -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in _files(package)
        for line, name in _all_imports(path)
        if name.split(".")[0] in forbidden
    ]
    assert bad == []


def _hidden_imports(path: Path) -> Iterator[str]:
    """Imports of our own packages inside functions; importlib; `except ImportError`."""
    where = path.relative_to(ROOT)
    module = _module_name(path)
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    names = _imported(inner, module)
                    if any(n.split(".")[0] in OURS for n in names if n):
                        yield f"{where}:{inner.lineno} imports {names[0]} inside {node.name}()"
        if isinstance(node, ast.Import | ast.ImportFrom) and any(
            n.split(".")[0] == "importlib" for n in _imported(node, module) if n
        ):
            yield f"{where}:{node.lineno} uses importlib"
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            caught = ast.unparse(node.type)
            if "ImportError" in caught or "ModuleNotFoundError" in caught:
                yield f"{where}:{node.lineno} catches {caught}"


def test_no_import_in_portal_is_hidden_to_get_around_a_cycle() -> None:
    bad = [line for path in _files("portal") for line in _hidden_imports(path)]
    assert bad == []


ROLE_NAMES = frozenset(r.value for r in Role)


def _policies_module(path: Path) -> bool:
    """A domain's `policies.py` (or the roles themselves): where who-may-do-what is written."""
    return path.name == "policies.py" or path == ROOT / "portal" / "security.py"


def _mentions_role(node: ast.AST) -> bool:
    """An expression that reads a role: `role`, `principal.role`, `User.role`, `roles` …"""
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name) and "role" in inner.id.lower():
            return True
        if isinstance(inner, ast.Attribute) and "role" in inner.attr.lower():
            return True
    return False


def _role_literals(node: ast.AST) -> list[str]:
    """The role names written as strings in an expression (alone or in a tuple, list, set)."""
    found = []
    for inner in ast.walk(node):
        if isinstance(inner, ast.Constant) and inner.value in ROLE_NAMES:
            found.append(inner.value)
    return found


def _role_comparisons(path: Path) -> Iterator[str]:
    """Comparisons of a role with a role name spelled as a string (`role == "admin"`,
    `user.role in ("agent", "admin")`, `User.role.in_(["dispatcher"])`), a role keyword
    given as one (`users_with_role(role="dispatcher")`) and a set of roles so spelled
    (`CHAT_ROLES = ("agent", "admin")`), which is compared later."""
    where = path.relative_to(ROOT)
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_mentions_role(o) for o in operands):
                literals = [name for o in operands for name in _role_literals(o)]
                if literals:
                    yield f"{where}:{node.lineno} compares a role with {literals}"
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "in_" and _mentions_role(func):
                literals = [name for a in node.args for name in _role_literals(a)]
                if literals:
                    yield f"{where}:{node.lineno} filters a role by {literals}"
            for keyword in node.keywords:
                if keyword.arg and "role" in keyword.arg and _role_literals(keyword.value):
                    yield f"{where}:{node.lineno} passes {keyword.arg}= as a string"
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
            # A `Literal[...]` of role names is a request schema's type, not a rule.
            literal_type = isinstance(value, ast.Subscript) and ast.unparse(value.value) in (
                "Literal",
                "typing.Literal",
            )
            if value is not None and not literal_type and any(_mentions_role(t) for t in targets):
                literals = _role_literals(value)
                if literals:
                    yield f"{where}:{node.lineno} spells roles {literals} as strings"


def test_no_role_is_compared_with_a_string_outside_the_policies() -> None:
    # Who may do what is declared once, in the domain's policies.py, with the Role enum; a
    # service, flow or page asks those (a scope, a named rule) instead of `role == "…"`.
    bad = [
        line
        for path in _files("portal")
        if not _policies_module(path)
        for line in _role_comparisons(path)
    ]
    assert bad == []


# Chinese that is the company's vocabulary, not our sentences: place names, the phrases the
# customers' words are matched against, the time phrases a visit window is read from, the map.
_VOCABULARY = ("portal/places/", "portal/intake/windows.py", "portal/conversations/phrases.py")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_SENTENCE = re.compile(r"[，。：；！？（）「」]")


_API_CALLS = {"Field", "Query", "Path", "Body", "Form", "Header", "FastAPI", "get", "post", "put"}


def _called(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _chinese_sentences(path: Path) -> Iterator[str]:
    tree = _tree(path)
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            skip.add(id(body[0].value))  # a docstring
        if isinstance(node, ast.Call) and _called(node) in _API_CALLS:
            for kw in node.keywords:  # the OpenAPI document's examples and descriptions
                if kw.arg in ("examples", "description", "title", "summary"):
                    skip.update(id(n) for n in ast.walk(kw.value))
        if isinstance(node, ast.Call) and _called(node) == "compile":
            skip.update(id(n) for n in ast.walk(node))  # a pattern that reads Chinese input
        if isinstance(node, ast.Call) and _called(node) == "print":
            skip.update(id(n) for n in ast.walk(node))  # a console line, in both languages
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            both = " / " in node.value and re.search("[A-Za-z]{3}", node.value)  # zh / en at once
            if _CJK.search(node.value) and _SENTENCE.search(node.value) and not both:
                yield f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:40]!r}"


def test_no_chinese_sentence_is_written_outside_the_translation_layer() -> None:
    # Every sentence a user reads comes from portal/i18n.py in their language; a Chinese
    # literal in a service is a sentence an English reader gets in Chinese.
    bad = [
        line
        for path in _files("portal")
        if path.name != "i18n.py"
        and "demo" not in path.relative_to(ROOT).parts
        and path.name != "demo.py"  # the demo's made-up customers write Chinese
        and "migrations" not in path.parts
        and not str(path.relative_to(ROOT)).startswith(_VOCABULARY)
        for line in _chinese_sentences(path)
    ]
    assert bad == []
