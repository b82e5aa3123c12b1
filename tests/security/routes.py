"""Every route of the built app, as FastAPI resolves it (prefix, router dependencies and all):
the generated access and id tests read them from here instead of from a hand-kept list."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from portal.security import Policy


@dataclass(frozen=True)
class RouteInfo:
    """One method of one route."""

    method: str
    path: str
    dependant: Dependant
    in_schema: bool  # JSON routes are in /openapi.json; pages are not

    @property
    def label(self) -> str:
        """How failures name the route."""
        return f"{self.method} {self.path}"

    def dependants(self) -> Iterator[Dependant]:
        """The route's dependant and every sub-dependency, depth first."""
        stack = [self.dependant]
        while stack:
            d = stack.pop()
            yield d
            stack.extend(d.dependencies)

    def policies(self) -> list[Policy]:
        """The policies the route's dependencies enforce (one, for a well-declared route)."""
        found: list[Policy] = []
        for d in self.dependants():
            policy = getattr(d.call, "policy", None)
            if isinstance(policy, Policy) and policy not in found:
                found.append(policy)
        return found

    def params(self) -> Iterator[Any]:
        """Every path and query parameter the route reads (its dependencies' included)."""
        for d in self.dependants():
            yield from d.path_params
            yield from d.query_params


def routes(app: FastAPI) -> list[RouteInfo]:
    """Every HTTP route of the app, one entry per method (HEAD left out)."""
    out = []
    for ctx in iter_route_contexts(app.routes):
        if not isinstance(ctx.original_route, APIRoute):
            continue
        for method in sorted(ctx.methods or ()):
            if method == "HEAD":
                continue
            out.append(RouteInfo(method, ctx.path, ctx.dependant, bool(ctx.include_in_schema)))
    return out
