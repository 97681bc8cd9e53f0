"""HTTP routes read from the contract's `google.api.http` rules.

Every method of a served API flavour whose descriptor carries an http rule gets a route for
the rule and for each of its `additional_bindings`: nothing here names a method, so an RPC
added to the contract with a rule is served over HTTP without new code.

- `textgen` (our own names) serves the methods of textgen.v1's services and of
  google.longrunning.Operations at their rules, as written (`/v1/...`).
- An upstream flavour (textgen.apis) serves the methods its table lists at the same rules,
  under its own version: the rules' `/v1/` becomes `/v1beta/` for Generative Language, whose
  package is `google.ai.generativelanguage.v1beta`. Such a call reaches the servicers by the
  flavour's gRPC path, exactly as a gRPC call of that flavour does, so its operations carry
  the flavour's type names. A flavour whose package version is ours (v1) adds no routes of
  its own; Yandex's compat services carry no rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import MethodDescriptor

from textgen.apis import TEXTGEN, Api
from textgen.server.http.templates import Template, compile_template

OUR_VERSION = "v1"


@dataclass(frozen=True)
class Route:
    """One HTTP binding of a method: verb, template, body field ("*", a field name, or ""),
    the gRPC path it dispatches to, and the method's descriptor."""

    verb: str
    template: Template
    body: str
    path: str
    method: MethodDescriptor

    @property
    def streaming(self) -> bool:
        """Whether the method streams its responses."""
        return bool(self.method.server_streaming)


class RouteTable:
    """The routes of the served flavours, by HTTP verb, in the order the rules are read."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = tuple(routes)
        self._by_verb: dict[str, list[Route]] = {}
        for route in self.routes:
            self._by_verb.setdefault(route.verb, []).append(route)

    def match(self, verb: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The first route for `verb` whose template matches `path`, with its bindings."""
        for route in self._by_verb.get(verb, ()):
            bound = route.template.match(path)
            if bound is not None:
                return route, bound
        return None

    def allows(self, path: str) -> list[str]:
        """The verbs some route offers for `path` (for 405 answers)."""
        return [
            verb
            for verb, routes in self._by_verb.items()
            if any(route.template.match(path) is not None for route in routes)
        ]


def http_rules(method: MethodDescriptor) -> list[http_pb2.HttpRule]:
    """The method's http rule and its additional bindings (empty without a rule)."""
    # Any: the stubs type Extensions' keys more narrowly than the generated extension.
    options: Any = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return []
    rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    return [rule, *rule.additional_bindings]


def our_methods() -> list[MethodDescriptor]:
    """The methods served by our own names: textgen.v1's services and the operations."""
    from google.longrunning import operations_proto_pb2  # noqa: PLC0415

    from textgen import contract  # noqa: PLC0415

    services = [
        *contract.services(),
        operations_proto_pb2.DESCRIPTOR.services_by_name["Operations"],
    ]
    return [method for service in services for method in service.methods]


def routes_for(served: Iterable[Api], ours: Iterable[MethodDescriptor] | None = None) -> RouteTable:
    """The route table of the flavours `served`; `ours` are the methods served by our own
    names when `textgen` is among them (our_methods() by default)."""
    ours = our_methods() if ours is None else ours
    found: list[Route] = []
    for api in served:
        if api.name == TEXTGEN:
            found += _routes((f"/{m.containing_service.full_name}/{m.name}", m) for m in ours)
            continue
        version = api.package.rsplit(".", 1)[-1]
        if version == OUR_VERSION:
            continue
        upstream = ((m.path, m.descriptor) for m in api.methods())
        found += _routes(upstream, version)
    return RouteTable(found)


def _routes(methods: Iterable[tuple[str, MethodDescriptor]], version: str = "") -> Iterator[Route]:
    for path, method in methods:
        for rule in http_rules(method):
            verb = rule.WhichOneof("pattern")
            if verb is None or verb == "custom":
                continue
            text: str = getattr(rule, verb)
            if version:
                prefix = f"/{OUR_VERSION}/"
                if not text.startswith(prefix):
                    continue
                text = f"/{version}/{text.removeprefix(prefix)}"
            yield Route(verb.upper(), compile_template(text), rule.body, path, method)
