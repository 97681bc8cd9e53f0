"""Fuzzing every RPC of the contract with protobuf-aware requests (issue 10).

The methods come from the contract's descriptors (textgen.contract.services() and the
long-running Operations service), the requests from tests/server/fuzzing.py. Each request
goes to a real in-process server (FakeServer, jobs running straight through) with a deadline,
and only clean answers pass: a success or a status a caller can act on, never INTERNAL or
UNKNOWN, and never the deadline (a hang). Hypothesis runs derandomized with a fixed number of
examples per method, so every run sends the same requests; the counts per method and status
are printed at the end.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.longrunning import operations_proto_pb2
from google.protobuf import descriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textgen.v1 import (
    content_pb2,
    dataset_pb2,
    dataset_service_pb2,
    message_pb2,
    model_service_pb2,
    text_pb2,
    tuned_model_pb2,
    tuned_model_service_pb2,
)
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2

from tests.server.fuzzing import requests
from textgen import contract
from textgen.testing import FakeServer, Progression

EXAMPLES = 100  # requests per method
DEADLINE = 10.0  # seconds one call may take
NOT_CLEAN = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DEADLINE_EXCEEDED}
METHODS: list[descriptor.MethodDescriptor] = [
    method
    for service in [
        *contract.services(),
        operations_proto_pb2.DESCRIPTOR.services_by_name["Operations"],
    ]
    for method in service.methods
]
GEMINI = "models/gemini-1.5-flash"
TEXT_MODEL = "models/text-bison-001"
USER = content_pb2.Content(role="user", parts=[content_pb2.Part(text="Say hi.")])
PROMPTS = "fuzz-prompts"  # a prompt dataset the server holds before fuzzing starts


def _seeds() -> dict[str, Message]:
    """A valid request of each type that has required parts, by full name; fuzzed messages
    are merged over them as well as sent alone (fuzzing.requests)."""
    examples = tuned_model_pb2.TuningExamples(
        examples=[tuned_model_pb2.TuningExample(text_input="2+2", output="4")]
    )
    found: list[Message] = [
        model_service_pb2.GenerateContentRequest(model=GEMINI, contents=[USER]),
        model_service_pb2.CountTokensRequest(model=GEMINI, contents=[USER]),
        model_service_pb2.EmbedContentRequest(model="models/embedding-001", content=USER),
        model_service_pb2.GenerateTextRequest(
            model=TEXT_MODEL, prompt=text_pb2.TextPrompt(text="Say hi.")
        ),
        model_service_pb2.GenerateMessageRequest(
            model="models/chat-bison-001",
            prompt=message_pb2.MessagePrompt(messages=[message_pb2.Message(content="Hi.")]),
        ),
        batch_pb2.BatchCompletionRequest(model_uri=GEMINI, source_dataset_id=PROMPTS),
        tuned_model_service_pb2.CreateTunedModelRequest(
            tuned_model=tuned_model_pb2.TunedModel(
                base_model="models/gemini-1.0-pro-001",
                tuning_task=tuned_model_pb2.TuningTask(
                    training_data=tuned_model_pb2.TuningDataset(examples=examples)
                ),
            )
        ),
        dataset_service_pb2.CreateDatasetRequest(rows=[dataset_pb2.DatasetPrompt(text="One.")]),
    ]
    return {message.DESCRIPTOR.full_name: message for message in found}


SEEDS = _seeds()
# method path -> status name -> how many requests got it
COUNTS: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
)


@pytest.fixture(scope="module")
def channel(request: pytest.FixtureRequest) -> Iterator[grpc.Channel]:
    with FakeServer(progression=Progression.immediate()) as fake:
        fake.channel().unary_unary(
            "/textgen.v1.DatasetService/CreateDataset",
            request_serializer=dataset_service_pb2.CreateDatasetRequest.SerializeToString,
        )(
            dataset_service_pb2.CreateDatasetRequest(
                dataset_id=PROMPTS, rows=[dataset_pb2.DatasetPrompt(text="One.")]
            ),
            timeout=DEADLINE,
        )
        yield fake.channel()
    # Shown past pytest's capture, so that a plain `pytest -q` run prints the counts.
    capture: Any = request.config.pluginmanager.get_plugin("capturemanager")
    reporter: Any = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and reporter is not None and COUNTS:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            reporter.write_line(report())


def report() -> str:
    """The requests sent per method and the statuses they got, then the totals."""
    totals: collections.Counter[str] = collections.Counter()
    lines = ["fuzz: requests per method and status"]
    for path in sorted(COUNTS):
        counts = COUNTS[path]
        totals.update(counts)
        shown = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
        lines.append(f"  {path}: {sum(counts.values())} ({shown})")
    shown = ", ".join(f"{name} {count}" for name, count in sorted(totals.items()))
    lines.append(f"  all {len(COUNTS)} methods: {sum(totals.values())} ({shown})")
    return "\n".join(lines)


def _path(method: descriptor.MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def send(
    channel: grpc.Channel, method: descriptor.MethodDescriptor, requests: list[Message]
) -> str:
    """Send the request(s) the way the method takes them; the status's name."""
    path = _path(method)
    serialize = type(requests[0]).SerializeToString
    kind = contract.streaming_kind(method)
    try:
        if kind == "unary_unary":
            channel.unary_unary(path, request_serializer=serialize)(requests[0], timeout=DEADLINE)
        elif kind == "unary_stream":
            for _ in channel.unary_stream(path, request_serializer=serialize)(
                requests[0], timeout=DEADLINE
            ):
                pass
        elif kind == "stream_unary":
            channel.stream_unary(path, request_serializer=serialize)(
                iter(requests), timeout=DEADLINE
            )
        else:
            for _ in channel.stream_stream(path, request_serializer=serialize)(
                iter(requests), timeout=DEADLINE
            ):
                pass
    except grpc.RpcError as error:
        failed: Any = error  # a grpc.Call as well; the typing stubs differ on that
        code: grpc.StatusCode = failed.code()
        details: str = failed.details() or ""
        COUNTS[path][code.name] += 1
        assert code not in NOT_CLEAN, f"{path}: {code.name}: {details}"
        return code.name
    COUNTS[path]["OK"] += 1
    return "OK"


@pytest.mark.parametrize("method", METHODS, ids=_path)
def test_fuzzed_requests_get_clean_statuses(
    channel: grpc.Channel, method: descriptor.MethodDescriptor
) -> None:
    streamed = contract.streaming_kind(method) in ("stream_unary", "stream_stream")
    drawn = st.lists(requests(method.input_type, SEEDS), min_size=1, max_size=3 if streamed else 1)

    @FUZZ_SETTINGS
    @given(drawn)
    def fuzz(sent: list[Message]) -> None:
        send(channel, method, sent)

    fuzz()
    assert sum(COUNTS[_path(method)].values()) >= EXAMPLES // 2
