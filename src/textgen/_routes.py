"""The client's side of an API flavour: where each of our methods goes, and what it carries.

A `Routing` is built from one flavour of `textgen.apis`. For each `Method` the resources
declare (always under our own name), it gives the method under the flavour's path, or raises
`errors.UnsupportedByApi` when the flavour does not offer it, before anything is sent. It also
gives the metadata the flavour's own clients send: the API key under the flavour's header, and
for Generative Language the `x-goog-request-params` routing header, whose field names are the
`{variables}` of the method's google.api.http template (the official clients derive theirs
from the same annotations).

Adding a flavour means a row in `textgen.apis` and, if its clients send other metadata, a
`Speech` entry below.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

from textgen import apis, errors
from textgen._calls import Method

Metadata = tuple[tuple[str, str], ...]
ROUTING_HEADER = "x-goog-request-params"

# `{field}` or `{field=pattern}` in an http template.
_VARIABLE = re.compile(r"\{([a-z0-9_.]+)(?:=[^}]*)?\}")


class Speech(NamedTuple):
    """How a flavour's clients present themselves: the header (and value format) carrying
    the API key, and whether they send the routing header."""

    key_header: str
    key_format: str = "{}"
    routing_header: bool = False


SPEECH: dict[str, Speech] = {
    apis.TEXTGEN: Speech("x-api-key"),
    apis.GENERATIVE_LANGUAGE: Speech("x-goog-api-key", routing_header=True),
}


class Route(NamedTuple):
    """One of our methods in a flavour: the method under its path there, and the request
    fields (dotted paths) whose values the routing header carries."""

    method: Method[Any, Any]
    fields: tuple[str, ...] = ()


def routing_fields(descriptor: MethodDescriptor) -> tuple[str, ...]:
    """The variables of the method's google.api.http template, such as ("model",)."""
    # Any: the stubs type Extensions' keys more narrowly than the generated extension.
    options: Any = descriptor.GetOptions()
    rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    kind = rule.WhichOneof("pattern")
    if kind is None:
        return ()
    template: str = rule.custom.path if kind == "custom" else getattr(rule, kind)
    return tuple(_VARIABLE.findall(template))


def _field_value(request: Message, path: str) -> str:
    value: Any = request
    for part in path.split("."):
        value = getattr(value, part)
    return str(value)


class Routing:
    """Routes for one flavour, resolved from the flavour table once per method."""

    def __init__(self, api: apis.Api) -> None:
        self.api = api
        self.speech = SPEECH.get(api.name)
        if self.speech is None:
            raise ValueError(f"the client does not speak the {api.name!r} API yet")
        # No aliases at all means our own names: every method is offered as declared.
        self.native = not api.services
        self._paths: dict[str, tuple[str, MethodDescriptor]] = {
            m.canonical: (m.path, m.descriptor) for m in api.methods()
        }
        self._routes: dict[str, Route] = {}

    @property
    def name(self) -> str:
        """The flavour's name, such as "generativelanguage"."""
        return self.api.name

    def offers(self, method: Method[Any, Any]) -> bool:
        """Whether the flavour has this method."""
        return self.native or method.path in self._paths

    def route(self, method: Method[Any, Any]) -> Route:
        """The method as the flavour calls it; UnsupportedByApi if the flavour lacks it."""
        found = self._routes.get(method.path)
        if found is not None:
            return found
        if self.native:
            found = Route(method)
        else:
            entry = self._paths.get(method.path)
            if entry is None:
                raise errors.UnsupportedByApi(method.name, self.api.name)
            path, descriptor = entry
            service = path[1:].rsplit("/", 1)[0]
            fields = routing_fields(descriptor) if self.speech_routes else ()
            found = Route(dataclasses.replace(method, service=service), fields)
        self._routes[method.path] = found
        return found

    @property
    def speech_routes(self) -> bool:
        """Whether calls carry the routing header."""
        return self.speech is not None and self.speech.routing_header

    def key_metadata(self, key: str) -> Metadata:
        """The metadata that carries an API key in this flavour."""
        assert self.speech is not None
        return ((self.speech.key_header, self.speech.key_format.format(key)),)

    def prepare(
        self, method: Method[Any, Any], request: Message | None, metadata: Metadata
    ) -> tuple[Method[Any, Any], Metadata]:
        """The routed method and the call's metadata (the routing header added when the
        flavour sends one; client streams, which have no single request, carry none)."""
        if self.native:
            return method, metadata
        route = self.route(method)
        if not route.fields or request is None:
            return route.method, metadata
        params = "&".join(
            urllib.parse.urlencode({name: _field_value(request, name)}, safe="/")
            for name in route.fields
        )
        return route.method, (*metadata, (ROUTING_HEADER, params))

    def grpc_retried(
        self, methods: Callable[[], Sequence[Method[Any, Any]]]
    ) -> Callable[[], list[Method[Any, Any]]]:
        """A `ChannelPool` methods callback: `methods()` as the flavour calls them, those
        it offers."""

        def routed() -> list[Method[Any, Any]]:
            return [self.route(m).method for m in methods() if self.offers(m)]

        return routed


def routing(name: str) -> Routing:
    """The Routing of the flavour called `name` (ValueError naming the known ones)."""
    return Routing(apis.get(name))
