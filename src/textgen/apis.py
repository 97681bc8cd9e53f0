"""API flavours: the upstream services that carry our methods under their own names.

Our messages are wire-identical to those of the upstream APIs this contract mirrors, so an
upstream method that does what one of ours does differs from it only by its path. A flavour
(`Api`) is a table of such renames: which upstream service offers which of our services'
methods. Everything else is read from our descriptors when needed: the request and response
types, the call kinds, and the payload types of long-running methods, whose type URLs a
flavour names in its own package (`Api.type_name`).

The server serves every flavour's paths with the servicers of `textgen.v1`
(textgen.server.flavours); clients resolve an upstream type URL to our message class with
`canonical_type_name`. Upstream method names equal ours in every flavour so far, so a table
row lists method names once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

TEXTGEN = "textgen"
GENERATIVE_LANGUAGE = "generativelanguage"
YANDEX = "yandex"

OPERATIONS_SERVICE = "google.longrunning.Operations"
_GL = "google.ai.generativelanguage.v1beta"
_YFM = "yandex.cloud.ai.foundation_models.v1"


# The records are named tuples: immutable and hashable, and quick to define at import, which
# matters to `textgen serve`'s start (a dataclass takes several times longer to build).


class Alias(NamedTuple):
    """Methods of one of our services (all of them when `methods` is None) that an upstream
    service offers under its own name (both names in full, such as
    "google.ai.generativelanguage.v1beta.TextService" and "textgen.v1.ModelService")."""

    upstream: str
    ours: str
    methods: tuple[str, ...] | None = None


class Method(NamedTuple):
    """One method of a flavour: its path there, our path for it, and our descriptor."""

    path: str
    canonical: str
    descriptor: MethodDescriptor


class Api(NamedTuple):
    """A flavour: its name, the package its messages live in, its services (a service shared
    with us, such as google.longrunning.Operations, is listed under its own name), the
    package prefixes whose other methods this project does not offer, and operation payload
    types of ours that the flavour names in its package although none of its methods'
    descriptors declares them (its operations are not google.longrunning's)."""

    name: str
    package: str
    services: tuple[Alias, ...] = ()
    families: tuple[str, ...] = ()
    payloads: tuple[str, ...] = ()

    def methods(self) -> tuple[Method, ...]:
        """Every method the flavour offers, in table order."""
        return _methods(self)

    def upstream_services(self) -> tuple[str, ...]:
        """The flavour's service names that are not ours, each once."""
        return tuple(dict.fromkeys(a.upstream for a in self.services if a.upstream != a.ours))

    def shared_services(self) -> tuple[str, ...]:
        """The services the flavour calls by our own name (such as
        google.longrunning.Operations), each once; read from the table alone."""
        return tuple(dict.fromkeys(a.ours for a in self.services if a.upstream == a.ours))

    def shared_paths(self) -> tuple[str, ...]:
        """The paths of the flavour's methods that it calls by our own name (those of a
        service both speak, such as google.longrunning.Operations/GetOperation)."""
        return tuple(m.path for m in self.methods() if m.path == m.canonical)

    def type_name(self, full_name: str) -> str:
        """The name the flavour gives one of our operation payload types (others unchanged)."""
        return _payload_types(self).get(full_name, full_name)


TEXTGEN_API = Api(TEXTGEN, "textgen.v1")

_MODELS = "textgen.v1.ModelService"
GENERATIVE_LANGUAGE_API = Api(
    GENERATIVE_LANGUAGE,
    _GL,
    services=(
        Alias(
            f"{_GL}.GenerativeService",
            _MODELS,
            (
                "GenerateContent",
                "StreamGenerateContent",
                "CountTokens",
                "EmbedContent",
                "BatchEmbedContents",
            ),
        ),
        Alias(
            f"{_GL}.TextService",
            _MODELS,
            ("GenerateText", "CountTextTokens", "EmbedText", "BatchEmbedText"),
        ),
        Alias(f"{_GL}.DiscussService", _MODELS, ("GenerateMessage", "CountMessageTokens")),
        Alias(f"{_GL}.ModelService", _MODELS, ("GetModel", "ListModels")),
        Alias(f"{_GL}.ModelService", "textgen.v1.TunedModelService"),
        # The official clients wait by polling: WaitOperation is not part of this API.
        Alias(
            OPERATIONS_SERVICE,
            OPERATIONS_SERVICE,
            ("GetOperation", "ListOperations", "CancelOperation", "DeleteOperation"),
        ),
    ),
    families=("google.ai.generativelanguage.",),
)

# Yandex's operations and batch tasks have shapes of their own, so its methods are served by
# services of ours that answer them (textgen.yandex_operation, textgen.yandex_batch), not by
# textgen.v1's.
YANDEX_API = Api(
    YANDEX,
    _YFM,
    services=(
        Alias(
            f"{_YFM}.TextGenerationBatchService",
            "textgen.compat.yandex.v1.TextGenerationBatchService",
        ),
        Alias(
            "yandex.cloud.operation.OperationService", "textgen.compat.yandex.v1.OperationService"
        ),
        # How Yandex's ML SDK follows a batch task (textgen.yandex_batch).
        Alias(
            "yandex.cloud.ai.batch_inference.v1.BatchInferenceService",
            "textgen.compat.yandex.batch_inference.v1.BatchInferenceService",
        ),
    ),
    families=("yandex.cloud.",),
    payloads=("textgen.v1.BatchCompletionMetadata", "textgen.v1.BatchCompletionResponse"),
)

APIS: Mapping[str, Api] = {
    api.name: api for api in (TEXTGEN_API, GENERATIVE_LANGUAGE_API, YANDEX_API)
}
UPSTREAM: tuple[Api, ...] = (GENERATIVE_LANGUAGE_API, YANDEX_API)
ALL: tuple[str, ...] = tuple(APIS)


def get(name: str) -> Api:
    """The flavour called `name`; ValueError naming the known ones otherwise."""
    found = APIS.get(name)
    if found is None:
        raise ValueError(f"unknown API {name!r}: use one of {', '.join(map(repr, APIS))}")
    return found


def chosen(names: Iterable[str]) -> tuple[Api, ...]:
    """The flavours called `names`, each once, in table order; ValueError for an unknown
    name or for none at all."""
    wanted = {get(name).name for name in names}
    if not wanted:
        raise ValueError(f"choose at least one API of {', '.join(map(repr, APIS))}")
    return tuple(api for api in APIS.values() if api.name in wanted)


def type_url(api: str, full_name: str) -> str:
    """The type URL under which flavour `api` packs a message of type `full_name`."""
    return f"type.googleapis.com/{get(api).type_name(full_name)}"


def canonical_type_name(full_name: str) -> str | None:
    """Our message's name for a flavour's operation payload type, such as
    "textgen.v1.TunedModel" for "google.ai.generativelanguage.v1beta.TunedModel"; None for
    any other name. Cheap for names outside every flavour's package."""
    for api in UPSTREAM:
        if full_name.startswith(api.package + "."):
            return _canonical_types(api).get(full_name)
    return None


# --- derived from our descriptors, once per flavour ------------------------------------


@functools.cache
def _services() -> dict[str, ServiceDescriptor]:
    # Loaded on first use: the contract's modules are not needed to import this one.
    from google.longrunning import operations_proto_pb2  # noqa: PLC0415

    from textgen import contract, yandex_batch, yandex_operation  # noqa: PLC0415

    found = {service.full_name: service for service in contract.services()}
    operations = operations_proto_pb2.DESCRIPTOR.services_by_name["Operations"]
    found[operations.full_name] = operations
    for module in (yandex_operation, yandex_batch):
        for service in module.DESCRIPTOR.services_by_name.values():
            found[service.full_name] = service
    return found


@functools.cache
def _methods(api: Api) -> tuple[Method, ...]:
    found: list[Method] = []
    for alias in api.services:
        service = _services().get(alias.ours)
        if service is None:
            raise LookupError(f"{api.name}: {alias.ours} is not a service of the contract")
        names = alias.methods or tuple(m.name for m in service.methods)
        for name in names:
            descriptor = service.methods_by_name.get(name)
            if descriptor is None:
                raise LookupError(f"{api.name}: {alias.ours} has no method {name}")
            found.append(Method(f"/{alias.upstream}/{name}", f"/{alias.ours}/{name}", descriptor))
    return tuple(found)


@functools.cache
def _payload_types(api: Api) -> dict[str, str]:
    # Our long-running payload types (responses and metadata) under the flavour's package.
    from textgen import contract  # noqa: PLC0415

    renamed: dict[str, str] = {}
    for method in _methods(api):
        if method.path == method.canonical:
            continue  # a shared service, such as Operations, keeps its own types
        info = contract.operation_info(method.descriptor)
        for ours in info or ():
            renamed[ours] = f"{api.package}.{ours.rsplit('.', 1)[-1]}"
    for ours in api.payloads:
        renamed[ours] = f"{api.package}.{ours.rsplit('.', 1)[-1]}"
    return renamed


@functools.cache
def _canonical_types(api: Api) -> dict[str, str]:
    return {theirs: ours for ours, theirs in _payload_types(api).items()}
