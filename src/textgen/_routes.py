"""The client's side of an API flavour: where each of our methods goes, and what it carries.

A `Routing` is built from one flavour of `textgen.apis`. For each `Method` the resources
declare (always under our own name), it gives the method under the flavour's path, or raises
`errors.UnsupportedByApi` when the flavour does not offer it, before anything is sent. It also
gives the metadata the flavour's own clients send: the API key under the flavour's header, and
for Generative Language the `x-goog-request-params` routing header, whose field names are the
`{variables}` of the method's google.api.http template (the official clients derive theirs
from the same annotations).

Where a flavour answers one of our methods with a message of another shape (Yandex's
operations), an `Adapter` says which of the flavour's methods stands for ours and how to
convert; the routed method is then an `Adapted` one, whose `encode` and `decode` the transport
uses in place of the message classes' own. For Yandex these are batch Completion (the model
name written as `gpt://<folder>/<model>/latest`), and GetOperation and CancelOperation sent as
OperationService Get and Cancel. Yandex has no WaitOperation, so waiting polls Get.

Adding a flavour means a row in `textgen.apis` and, if its clients send other metadata, a
`Speech` entry below.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from google.api import annotations_pb2, http_pb2
from google.protobuf import empty_pb2
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

from textgen import apis, errors, yandex_operation
from textgen._calls import Method
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2

Metadata = tuple[tuple[str, str], ...]
ROUTING_HEADER = "x-goog-request-params"

# `{field}` or `{field=pattern}` in an http template.
_VARIABLE = re.compile(r"\{([a-z0-9_.]+)(?:=[^}]*)?\}")


BEARER = ("authorization", "Bearer {}")  # a bearer token (such as a Yandex IAM token)


class Speech(NamedTuple):
    """How a flavour's clients present themselves: the header (and value format) carrying
    the API key, whether they send the routing header, and the header naming the folder on
    calls to the services whose names start with `folder_services`."""

    key_header: str
    key_format: str = "{}"
    routing_header: bool = False
    folder_header: str = ""
    folder_services: str = ""


SPEECH: dict[str, Speech] = {
    apis.TEXTGEN: Speech("x-api-key"),
    apis.GENERATIVE_LANGUAGE: Speech("x-goog-api-key", routing_header=True),
    # The folder travels in model URIs; REST callers also name it in x-folder-id on the
    # foundation-models services, and so do we (the operation service takes no folder).
    apis.YANDEX: Speech(
        "authorization",
        "Api-Key {}",
        folder_header="x-folder-id",
        folder_services="yandex.cloud.ai.",
    ),
}


@dataclasses.dataclass(frozen=True)
class Adapted(Method[Any, Any]):
    """One of our methods sent as a flavour's method of another shape: `encode` writes our
    request as the flavour's request bytes, `decode` reads its answer as our response type."""

    encode: Callable[[Any], bytes] = dataclasses.field(kw_only=True)
    decode: Callable[[bytes], Any] = dataclasses.field(kw_only=True)


class Adapter(NamedTuple):
    """Which of a flavour's methods (our declaration's path for it, as in textgen.apis)
    stands for one of ours, and the conversions: `encode(request, folder)` gives the
    flavour's request message (raising UsageError when it cannot be written), `decode` reads
    the flavour's answer as our response."""

    theirs: str
    encode: Callable[[Any, str | None], Message]
    decode: Callable[[bytes], Message]


def yandex_model_uri(model: str, folder: str | None) -> str:
    """`models/x` (or `x`) as `gpt://<folder>/x/latest`; a `gpt://` URI, or a name of
    another collection, is kept. UsageError when a folder is needed and none was given."""
    if model.startswith("gpt://") or ("/" in model and not model.startswith("models/")):
        return model
    if not folder:
        raise errors.UsageError(
            f"the Yandex API names models by URI: pass Client(folder_id=...) to send {model!r} "
            "as gpt://<folder>/<model>/latest, or give the gpt:// URI itself"
        )
    return f"gpt://{folder}/{model.removeprefix('models/')}/latest"


def _completion(request: batch_pb2.BatchCompletionRequest, folder: str | None) -> Message:
    sent = batch_pb2.BatchCompletionRequest()
    sent.CopyFrom(request)
    sent.model_uri = yandex_model_uri(request.model_uri, folder)
    return sent


def _operation_request(kind: type[Message]) -> Callable[[Any, str | None], Message]:
    def encode(request: Any, folder: str | None) -> Message:  # noqa: ANN401  (Get or Cancel)
        return kind(operation_id=yandex_operation.operation_id(request.name))

    return encode


def _operation(data: bytes) -> Message:
    return yandex_operation.longrunning(yandex_operation.Operation.FromString(data))


def _empty(data: bytes) -> Message:
    return empty_pb2.Empty()  # CancelOperation answers Empty; Yandex's Cancel, the operation


# The field of our create requests that makes resending them safe (AIP-155). Only our own
# flavour has it; see Routing.route.
_EXTENSION_ID = "request_id"


def _without_request_id(adapter: Adapter | None, method: Method[Any, Any]) -> Adapter:
    """`adapter`, or a plain copy of the request where there is none, leaving out request_id."""
    request_type = method.request_type

    def encode(request: Any, folder: str | None) -> Message:  # noqa: ANN401  (a create request)
        sent = request_type()
        sent.CopyFrom(request)
        sent.ClearField(_EXTENSION_ID)
        return sent if adapter is None else adapter.encode(sent, folder)

    if adapter is None:
        return Adapter("", encode, method.response_type.FromString)
    return Adapter(adapter.theirs, encode, adapter.decode)


_YANDEX_OPERATIONS = yandex_operation.OPERATION_SERVICE
ADAPTERS: Mapping[str, Mapping[str, Adapter]] = {
    apis.YANDEX: {
        "/textgen.v1.TextGenerationBatchService/Completion": Adapter(
            f"/{yandex_operation.BATCH_SERVICE}/Completion", _completion, _operation
        ),
        "/google.longrunning.Operations/GetOperation": Adapter(
            f"/{_YANDEX_OPERATIONS}/Get",
            _operation_request(yandex_operation.GetOperationRequest),
            _operation,
        ),
        "/google.longrunning.Operations/CancelOperation": Adapter(
            f"/{_YANDEX_OPERATIONS}/Cancel",
            _operation_request(yandex_operation.CancelOperationRequest),
            _empty,
        ),
    },
}


class Route(NamedTuple):
    """One of our methods in a flavour: the method under its path there, the request
    fields (dotted paths) whose values the routing header carries, metadata every call of it
    carries, and its adapter when the flavour's message differs from ours."""

    method: Method[Any, Any]
    fields: tuple[str, ...] = ()
    metadata: Metadata = ()
    adapter: Adapter | None = None


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
    """Routes for one flavour, resolved from the flavour table once per method. `folder` is
    the Yandex folder id that model URIs and `x-folder-id` name."""

    def __init__(self, api: apis.Api, *, folder: str | None = None) -> None:
        self.api = api
        self.folder = folder or None
        speech = SPEECH.get(api.name)
        if speech is None:
            raise ValueError(f"the client does not speak the {api.name!r} API yet")
        self.speech = speech
        if folder is not None and not speech.folder_header:
            raise ValueError(f"folder_id is for api='yandex', not for api={api.name!r}")
        # No aliases at all means our own names: every method is offered as declared.
        self.native = not api.services
        self._paths: dict[str, tuple[str, MethodDescriptor]] = {
            m.canonical: (m.path, m.descriptor) for m in api.methods()
        }
        self._adapters = ADAPTERS.get(api.name, {})
        self._routes: dict[str, Route] = {}

    @property
    def name(self) -> str:
        """The flavour's name, such as "generativelanguage"."""
        return self.api.name

    def offers(self, method: Method[Any, Any]) -> bool:
        """Whether the flavour has this method."""
        return self.native or self._entry(method) is not None

    def resendable(self, method: Method[Any, Any]) -> bool:
        """Whether a failed call of `method` may be sent again in this flavour (a method it
        lacks answers as declared; the call fails before sending anyway)."""
        if self.native or not self.offers(method):
            return method.idempotent
        return self.route(method).method.idempotent

    def _entry(
        self, method: Method[Any, Any]
    ) -> tuple[str, MethodDescriptor, Adapter | None] | None:
        # The flavour's path and our descriptor for `method`, and its adapter if it has one.
        found = self._paths.get(method.path)
        if found is not None:
            return (*found, None)
        adapter = self._adapters.get(method.path)
        found = None if adapter is None else self._paths.get(adapter.theirs)
        return None if found is None else (*found, adapter)

    def route(self, method: Method[Any, Any]) -> Route:
        """The method as the flavour calls it; UnsupportedByApi if the flavour lacks it."""
        found = self._routes.get(method.path)
        if found is not None:
            return found
        if self.native:
            found = Route(method)
        else:
            entry = self._entry(method)
            if entry is None:
                raise errors.UnsupportedByApi(method.name, self.api.name)
            path, descriptor, adapter = entry
            service, name = path[1:].rsplit("/", 1)
            routed: Method[Any, Any] = dataclasses.replace(method, service=service, name=name)
            if _EXTENSION_ID in method.request_type.DESCRIPTOR.fields_by_name:
                # Our AIP-155 request_id is unknown upstream: it is left out, and without it a
                # resent create could make a second resource, so the create is sent once.
                routed = dataclasses.replace(routed, idempotent=False)
                adapter = _without_request_id(adapter, method)
            if adapter is not None:
                routed = self._adapted(routed, adapter)
            fields = routing_fields(descriptor) if self.speech.routing_header else ()
            found = Route(routed, fields, self._service_metadata(service), adapter)
        self._routes[method.path] = found
        return found

    def _adapted(self, routed: Method[Any, Any], adapter: Adapter) -> Adapted:
        folder = self.folder

        def encode(request: Message) -> bytes:
            return adapter.encode(request, folder).SerializeToString()

        fields = {f.name: getattr(routed, f.name) for f in dataclasses.fields(routed)}
        return Adapted(**fields, encode=encode, decode=adapter.decode)

    def _service_metadata(self, service: str) -> Metadata:
        speech = self.speech
        if self.folder and speech.folder_header and service.startswith(speech.folder_services):
            return ((speech.folder_header, self.folder),)
        return ()

    def key_metadata(self, key: str) -> Metadata:
        """The metadata that carries an API key in this flavour."""
        return ((self.speech.key_header, self.speech.key_format.format(key)),)

    @staticmethod
    def token_metadata(token: str) -> Metadata:
        """The metadata that carries a bearer token (a Yandex IAM token, say)."""
        return ((BEARER[0], BEARER[1].format(token)),)

    def prepare(
        self, method: Method[Any, Any], request: Message | None, metadata: Metadata
    ) -> tuple[Method[Any, Any], Metadata]:
        """The routed method and the call's metadata (the routing header added when the
        flavour sends one; client streams, which have no single request, carry none)."""
        if self.native:
            return method, metadata
        route = self.route(method)
        if route.adapter is not None and request is not None:
            route.adapter.encode(request, self.folder)  # a request it cannot write fails here
        metadata = (*metadata, *route.metadata) if route.metadata else metadata
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


def routing(name: str, *, folder: str | None = None) -> Routing:
    """The Routing of the flavour called `name` (ValueError naming the known ones)."""
    return Routing(apis.get(name), folder=folder)
