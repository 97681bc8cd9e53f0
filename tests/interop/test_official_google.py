"""Google's official client (google-ai-generativelanguage, gRPC transport) against the emulator.

Each call sends the very request textgen.Client sent for the same operation (taken from the
journal and decoded into the official message class), and must get what textgen.Client got.
The official client needs protobuf 6.33 or later, so this module runs in the latest leg of
`make test` (requirements/interop.txt) and skips elsewhere.

The client talks to the emulator the way the README shows: its gRPC transport over a channel
that carries the API key itself (`x-goog-api-key`, the header Google's clients send), so the
key also reaches the operation polls behind `create_tuned_model(...).result()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from google.api_core import exceptions
from google.longrunning import operations_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from textgen.v1 import model_pb2, tuned_model_pb2, tuned_model_service_pb2
from textgen.v1 import model_service_pb2 as pb

import textgen
from tests.interop.official_calls import Row
from textgen import _anys
from textgen.testing import FakeServer, Progression

glm = pytest.importorskip(
    "google.ai.generativelanguage_v1beta",
    reason="google-ai-generativelanguage is installed in the latest leg only (protobuf 6.33+)",
)

GL = "google.ai.generativelanguage.v1beta"
KEY = "test-key"
FLASH = "models/gemini-1.5-flash"
TEXT = "models/text-bison-001"
CHAT = "models/chat-bison-001"
EMBEDDING = "models/text-embedding-004"
GECKO = "models/embedding-gecko-001"
TUNABLE = "models/gemini-1.0-pro-001"


class ApiKey(grpc.AuthMetadataPlugin):
    """Adds `x-goog-api-key` to every call of a channel."""

    def __init__(self, key: str) -> None:
        self._metadata = (("x-goog-api-key", key),)

    def __call__(
        self, context: grpc.AuthMetadataContext, callback: grpc.AuthMetadataPluginCallback
    ) -> None:
        callback(self._metadata, None)


def emulator_channel(target: str, key: str | None) -> grpc.Channel:
    """A channel to an emulator on this machine, sending `key` with every call.

    Local channel credentials carry call credentials without TLS, to loopback addresses only.
    """
    if key is None:
        return grpc.insecure_channel(target)
    credentials = grpc.composite_channel_credentials(
        grpc.local_channel_credentials(), grpc.metadata_call_credentials(ApiKey(key))
    )
    return grpc.secure_channel(target, credentials)


def official_clients(channel: grpc.Channel) -> SimpleNamespace:
    """Google's four service clients, each on its gRPC transport over `channel`."""
    services = glm.services

    def make(module: Any, client: str, transport: str) -> Any:
        transports = module.transports
        return getattr(glm, client)(transport=getattr(transports, transport)(channel=channel))

    return SimpleNamespace(
        gen=make(
            services.generative_service, "GenerativeServiceClient", "GenerativeServiceGrpcTransport"
        ),
        models=make(services.model_service, "ModelServiceClient", "ModelServiceGrpcTransport"),
        text=make(services.text_service, "TextServiceClient", "TextServiceGrpcTransport"),
        discuss=make(
            services.discuss_service, "DiscussServiceClient", "DiscussServiceGrpcTransport"
        ),
        cache=make(services.cache_service, "CacheServiceClient", "CacheServiceGrpcTransport"),
    )


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    # A manual clock: timestamps stay put, so a job run twice gives the same answer.
    with FakeServer(
        api_keys={KEY: "alice"}, clock="manual", progression=Progression.immediate()
    ) as server:
        yield server


@pytest.fixture
def google(fake: FakeServer) -> Iterator[SimpleNamespace]:
    with emulator_channel(fake.target, KEY) as channel:
        yield official_clients(channel)


@pytest.fixture
def client(fake: FakeServer) -> Iterator[textgen.Client]:
    with textgen.Client(fake.target, api_key=KEY) as ours:
        yield ours


def as_ours(official: Any, ours: type[Message]) -> Any:
    """An official (proto-plus) message read as our message class, by its bytes."""
    return ours.FromString(type(official).serialize(official))


def as_official(ours: Message, official: str) -> Any:
    """Our request read as the official message class called `official`."""
    return getattr(glm, official).deserialize(ours.SerializeToString())


@dataclass(frozen=True)
class Case:
    """One official call, the textgen.Client call it is compared with, and how to compare."""

    name: str  # the official client's method
    method: str  # our method, as the journal names it
    request: str  # the official request class
    ours: Callable[[textgen.Client], Any]
    official: Callable[[SimpleNamespace, Any], Any]  # (clients, request) -> comparable


CASES = [
    Case(
        "generate_content",
        "GenerateContent",
        "GenerateContentRequest",
        lambda c: c.models.generate_content(FLASH, "Say hello").raw,
        lambda g, r: as_ours(g.gen.generate_content(request=r), pb.GenerateContentResponse),
    ),
    Case(
        "stream_generate_content",
        "StreamGenerateContent",
        "GenerateContentRequest",
        lambda c: [chunk.raw for chunk in c.models.stream_generate_content(FLASH, "A story")],
        lambda g, r: [
            as_ours(chunk, pb.GenerateContentResponse)
            for chunk in g.gen.stream_generate_content(request=r)
        ],
    ),
    Case(
        "count_tokens",
        "CountTokens",
        "CountTokensRequest",
        lambda c: c.models.count_tokens(FLASH, "How many tokens is this?"),
        lambda g, r: g.gen.count_tokens(request=r).total_tokens,
    ),
    Case(
        "embed_content",
        "EmbedContent",
        "EmbedContentRequest",
        lambda c: c.models.embed_content(EMBEDDING, "hello", task_type="RETRIEVAL_QUERY"),
        lambda g, r: list(g.gen.embed_content(request=r).embedding.values),
    ),
    Case(
        "batch_embed_contents",
        "BatchEmbedContents",
        "BatchEmbedContentsRequest",
        lambda c: c.models.batch_embed_contents(EMBEDDING, ["hello", "world"]),
        lambda g, r: [list(e.values) for e in g.gen.batch_embed_contents(request=r).embeddings],
    ),
    Case(
        "get_model",
        "GetModel",
        "GetModelRequest",
        lambda c: c.models.get(TEXT),
        lambda g, r: as_ours(g.models.get_model(request=r), model_pb2.Model),
    ),
    Case(
        "list_models (pages of 2)",
        "ListModels",
        "ListModelsRequest",
        lambda c: list(c.models.list(page_size=2)),
        lambda g, r: [as_ours(m, model_pb2.Model) for m in g.models.list_models(request=r)],
    ),
    Case(
        "generate_text",
        "GenerateText",
        "GenerateTextRequest",
        lambda c: c.models.generate_text(TEXT, "Write a haiku", temperature=0.5).raw,
        lambda g, r: as_ours(g.text.generate_text(request=r), pb.GenerateTextResponse),
    ),
    Case(
        "count_text_tokens",
        "CountTextTokens",
        "CountTextTokensRequest",
        lambda c: c.models.count_text_tokens(TEXT, "Write a haiku"),
        lambda g, r: g.text.count_text_tokens(request=r).token_count,
    ),
    Case(
        "embed_text",
        "EmbedText",
        "EmbedTextRequest",
        lambda c: c.models.embed_text(GECKO, "hello"),
        lambda g, r: list(g.text.embed_text(request=r).embedding.value),
    ),
    Case(
        "batch_embed_text",
        "BatchEmbedText",
        "BatchEmbedTextRequest",
        lambda c: c.models.batch_embed_text(GECKO, ["a", "b"]),
        lambda g, r: [list(e.value) for e in g.text.batch_embed_text(request=r).embeddings],
    ),
    Case(
        "generate_message",
        "GenerateMessage",
        "GenerateMessageRequest",
        lambda c: c.models.generate_message(CHAT, ["Hello", "Hi!", "How are you?"]).raw,
        lambda g, r: as_ours(g.discuss.generate_message(request=r), pb.GenerateMessageResponse),
    ),
    Case(
        "count_message_tokens",
        "CountMessageTokens",
        "CountMessageTokensRequest",
        lambda c: c.models.count_message_tokens(CHAT, "Hello"),
        lambda g, r: g.discuss.count_message_tokens(request=r).token_count,
    ),
]


# The official calls the other tests below make, for the README's table (official_calls.py).
ROWS = [
    Row(
        "`create_tuned_model(...)`, `.metadata`, `.result()`",
        "ModelService/CreateTunedModel",
        "works: typed `TunedModel` and `CreateTunedModelMetadata`, as `textgen.Client` gets",
        "test_tuning_and_tuned_models",
    ),
    Row(
        "`get_tuned_model`, `list_tuned_models`, `update_tuned_model`, `delete_tuned_model`",
        "ModelService",
        "works, as `textgen.Client` gets",
        "test_tuning_and_tuned_models",
    ),
    Row(
        "`generate_content` on `tunedModels/...`",
        "GenerativeService/GenerateContent",
        "works: the tuned model's answer",
        "test_tuning_and_tuned_models",
    ),
    Row(
        "`list_operations`, `get_operation`",
        "google.longrunning.Operations",
        "works: each operation packed under its creator's type names",
        "test_tuning_and_tuned_models",
    ),
    Row(
        "`generate_answer`, `bidi_generate_content`, `list_cached_contents`",
        "GenerativeService, CacheService",
        'UNIMPLEMENTED, "... is not offered by this emulator" (reason METHOD_NOT_OFFERED); '
        "so is every other method of the package (files, permissions, prediction, retrievers)",
        "test_methods_not_offered_answer_unimplemented",
    ),
    Row(
        "`generate_text` with bad values, `generate_content` with a `google_search` tool",
        "TextService, GenerativeService",
        "InvalidArgument with its BadRequest field paths in `error.details`",
        "test_errors_keep_their_details",
    ),
    Row(
        "any call without `x-goog-api-key` (when keys are configured)",
        "ModelService/GetModel",
        "Unauthenticated",
        "test_a_call_without_the_key_is_unauthenticated",
    ),
]


def table_rows() -> list[Row]:
    """Every official call the tests make: one row per case, then ROWS."""
    cases = [
        Row(
            f"`{case.name}`",
            f"{upstream_service(case.method)}/{case.method}",
            "works, as `textgen.Client` gets",
            "test_the_official_call_gets_what_our_client_gets",
        )
        for case in CASES
    ]
    return cases + ROWS


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_official_call_gets_what_our_client_gets(
    fake: FakeServer, google: SimpleNamespace, client: textgen.Client, case: Case
) -> None:
    ours = case.ours(client)
    [sent, *_] = fake.journal.calls(case.method)  # a paged call: its first request
    fake.journal.clear()

    theirs = case.official(google, as_official(sent.request, case.request))

    assert theirs == ours
    assert ours  # something was answered, not two empty results
    calls = fake.journal.calls(case.method)
    assert calls[0].request == sent.request
    assert {(call.path, call.api) for call in calls} == {
        (f"/{GL}.{upstream_service(case.method)}/{case.method}", "generativelanguage")
    }
    if case.method == "ListModels":
        assert len(calls) > 1  # the official pager fetched every page


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_our_client_in_googles_flavour_sends_what_the_official_client_sends(
    fake: FakeServer, google: SimpleNamespace, case: Case
) -> None:
    with textgen.Client(fake.target, api="generativelanguage", api_key=KEY) as ours:
        expected = case.ours(ours)
    [sent, *_] = fake.journal.calls(case.method)
    fake.journal.clear()

    assert case.official(google, as_official(sent.request, case.request)) == expected
    [official, *_] = fake.journal.calls(case.method)
    assert (sent.path, sent.api) == (official.path, official.api)
    assert sent.path.startswith(f"/{GL}.")
    for header in ("x-goog-request-params", "x-goog-api-key"):
        assert sent.header(header) == official.header(header), header


def upstream_service(method: str) -> str:
    return next(
        m.path.split("/")[1].rsplit(".", 1)[1]
        for m in textgen.apis.GENERATIVE_LANGUAGE_API.methods()
        if m.path.endswith(f"/{method}")
    )


def test_tuning_and_tuned_models(
    fake: FakeServer, google: SimpleNamespace, client: textgen.Client
) -> None:
    pairs = [("I", "II"), ("II", "III"), ("III", "IV"), ("IV", "V")]
    ours_operation = client.tuned_models.create(
        TUNABLE, pairs, tuned_model_id="roman", epoch_count=2
    )
    ours_tuned = ours_operation.result(timeout=10)
    ours_metadata = ours_operation.metadata
    sent = fake.journal.last("CreateTunedModel").request
    client.tuned_models.delete("roman")
    # Our client names each create with a request_id, which Google's request has no field
    # for; with it, the server would answer this second create with the first operation.
    sent.ClearField("request_id")

    # The same request, through Google's client: its operation future unpacks our payloads.
    operation = google.models.create_tuned_model(
        request=as_official(sent, "CreateTunedModelRequest")
    )
    tuned = operation.result(timeout=10)
    assert isinstance(tuned, glm.TunedModel)
    assert as_ours(tuned, tuned_model_pb2.TunedModel) == ours_tuned
    assert tuned.state == glm.TunedModel.State.ACTIVE
    metadata = operation.metadata
    assert isinstance(metadata, glm.CreateTunedModelMetadata)
    assert as_ours(metadata, tuned_model_service_pb2.CreateTunedModelMetadata) == ours_metadata
    assert metadata.total_steps > 0 and metadata.completed_steps == metadata.total_steps

    name = "tunedModels/roman"
    got = google.models.get_tuned_model(name=name)
    assert as_ours(got, tuned_model_pb2.TunedModel) == client.tuned_models.get(name)
    listed = [as_ours(m, tuned_model_pb2.TunedModel) for m in google.models.list_tuned_models()]
    assert listed == list(client.tuned_models.list())
    updated = google.models.update_tuned_model(
        tuned_model={"name": name, "description": "Roman numerals"},
        update_mask={"paths": ["description"]},
    )
    assert updated.description == client.tuned_models.get(name).description == "Roman numerals"

    generated = google.gen.generate_content(
        model=name, contents=[{"role": "user", "parts": [{"text": "III"}]}]
    )
    assert generated.candidates[0].content.parts[0].text == "IV"
    assert client.tuned_models.generate_content(name, "III").text == "IV"

    # Operations: listed and read through the mixins of Google's client, as ours sees them.
    found = google.models.list_operations(operations_pb2.ListOperationsRequest(name=name))
    ours_listed = list(client.operations.list(name=name))
    assert list(found.operations) == ours_listed
    # Ours (from the first tuning) and Google's, each packed as its creator's API names it.
    first, listed_operation = found.operations
    assert first.response.type_url == "type.googleapis.com/textgen.v1.TunedModel"
    read = google.models.get_operation(
        operations_pb2.GetOperationRequest(name=listed_operation.name)
    )
    assert read == listed_operation and read.done
    assert read.response.type_url == f"type.googleapis.com/{GL}.TunedModel"
    # Our client reads that operation with our classes, although Google's are loaded too.
    assert _anys.message_class(f"{GL}.TunedModel") is tuned_model_pb2.TunedModel
    handle = client.operations.get(read.name)
    assert isinstance(handle.metadata, tuned_model_service_pb2.CreateTunedModelMetadata)
    assert handle.result(timeout=10) == ours_tuned

    google.models.delete_tuned_model(name=name)
    with pytest.raises(textgen.errors.NotFound):
        client.tuned_models.get(name)


def test_methods_not_offered_answer_unimplemented(google: SimpleNamespace) -> None:
    contents = [{"role": "user", "parts": [{"text": "hi"}]}]
    with pytest.raises(exceptions.MethodNotImplemented) as answer:
        google.gen.generate_answer(
            request={"model": FLASH, "contents": contents, "answer_style": "ABSTRACTIVE"}
        )
    assert answer.value.message == (
        f"{GL}.GenerativeService/GenerateAnswer is not offered by this emulator: of the "
        "generativelanguage API it serves only the methods its contract mirrors "
        "(see the textgen-grpc README)"
    )
    assert answer.value.reason == "METHOD_NOT_OFFERED"
    with pytest.raises(exceptions.MethodNotImplemented):
        list(google.gen.bidi_generate_content(iter([{"setup": {"model": FLASH}}])))
    with pytest.raises(exceptions.MethodNotImplemented, match="CacheService/ListCachedContents"):
        list(google.cache.list_cached_contents())


def test_errors_keep_their_details(google: SimpleNamespace) -> None:
    with pytest.raises(exceptions.InvalidArgument) as refused:
        google.text.generate_text(
            request={"model": TEXT, "prompt": {"text": "Hi"}, "temperature": 5, "top_k": 0}
        )
    [bad_request] = [
        d for d in refused.value.details if isinstance(d, error_details_pb2.BadRequest)
    ]
    assert [v.field for v in bad_request.field_violations] == ["temperature", "top_k"]
    with pytest.raises(exceptions.InvalidArgument) as dropped:
        google.gen.generate_content(
            request={
                "model": FLASH,
                "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                "tools": [{"google_search": {}}],
            }
        )
    [bad_request] = [
        d for d in dropped.value.details if isinstance(d, error_details_pb2.BadRequest)
    ]
    assert [v.field for v in bad_request.field_violations] == ["tools[0].google_search"]


def test_a_call_without_the_key_is_unauthenticated(fake: FakeServer) -> None:
    with emulator_channel(fake.target, None) as channel:
        clients = official_clients(channel)
        with pytest.raises(exceptions.Unauthenticated):
            clients.models.get_model(name=TEXT, retry=None)
