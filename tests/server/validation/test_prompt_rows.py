"""The whole-chunk check of prompt rows agrees with the row rules, row shape by row shape,
and vouches for valid chunks without walking the rules. Chunks hold no unknown fields here:
the request policy refuses those before any servicer sees them (tests/server/rpc)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from google.rpc import error_details_pb2
from hypothesis import given, settings
from hypothesis import strategies as st
from textgen.v1 import dataset_pb2, dataset_service_pb2, message_pb2

from tests.wire import varint
from textgen.server.rpc.errors import ServiceError
from textgen.server.validation import prompt_rows
from textgen.server.validation.dataset_rules import ROW_RULES
from textgen.server.validation.plan import violations
from textgen.server.validation.prompt_rows import check_prompt_chunk

Prompt = dataset_pb2.DatasetPrompt


def conversation(*texts: str) -> Prompt:
    messages = [message_pb2.Message(content=text) for text in texts]
    return Prompt(messages=dataset_pb2.MessageList(messages=messages))


def decoded(data: bytes) -> Prompt:
    return Prompt.FromString(data)


MESSAGE = message_pb2.Message(content="hi").SerializeToString()


def field(number: int, payload: bytes) -> bytes:
    # A length-delimited field (payloads here are under 128 bytes).
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


# Row shapes, good and bad, including encodings another client might send.
SHAPES: dict[str, Prompt] = {
    "text": Prompt(text="a prompt"),
    "empty text": Prompt(text=""),
    "text with a NUL": Prompt(text="a\n\x00b"),
    "conversation": conversation("hello", "there"),
    "one empty message": Prompt(messages=dataset_pb2.MessageList(messages=[message_pb2.Message()])),
    "nothing": Prompt(),
    "empty conversation": Prompt(messages=dataset_pb2.MessageList()),
    "text then a conversation": decoded(field(1, b"x") + field(2, field(1, MESSAGE))),
    "a conversation then text": decoded(field(2, field(1, MESSAGE)) + field(1, b"x")),
    "text then an empty list": decoded(field(1, b"x") + field(2, b"")),
    "text twice": decoded(field(1, b"x") + field(1, b"y")),
    "a list in two pieces": decoded(field(2, field(1, MESSAGE)) + field(2, field(1, MESSAGE))),
    "an empty list then a message": decoded(field(2, b"") + field(2, field(1, MESSAGE))),
}


def rule_verdict(chunk: dataset_service_pb2.UploadDatasetChunk) -> list[str]:
    return [violation.field for violation in violations(chunk, ROW_RULES, "chunk")]


def check_verdict(chunk: dataset_service_pb2.UploadDatasetChunk) -> list[str]:
    try:
        check_prompt_chunk(chunk, "chunk")
    except ServiceError as error:
        return bad_request_fields(error)
    return []


def bad_request_fields(error: ServiceError) -> list[str]:
    for detail in error.status.details:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            return [violation.field for violation in bad_request.field_violations]
    raise AssertionError("no BadRequest")


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_shape_alone_and_among_good_rows(shape: str) -> None:
    for rows in ([SHAPES[shape]], [SHAPES["text"], SHAPES[shape], SHAPES["conversation"]]):
        chunk = dataset_service_pb2.UploadDatasetChunk(rows=rows)
        assert check_verdict(chunk) == rule_verdict(chunk)


def test_random_mixtures_agree_with_the_rules() -> None:
    shapes = list(SHAPES.values())
    generator = random.Random(8)
    for _ in range(300):
        rows = [generator.choice(shapes) for _ in range(generator.randint(0, 12))]
        chunk = dataset_service_pb2.UploadDatasetChunk(rows=rows)
        assert check_verdict(chunk) == rule_verdict(chunk), [str(row) for row in rows]


class Walks:
    """Counts the rule walks of prompt_rows (and still walks)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        monkeypatch.setattr(prompt_rows, "violations", self)

    def __call__(self, *args: Any) -> Any:
        self.count += 1
        return violations(*args)


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> Walks:
    return Walks(monkeypatch)


GOOD = ["text", "conversation"]


def test_a_valid_chunk_is_not_walked_row_by_row(walks: Walks) -> None:
    good = [SHAPES[name] for name in GOOD]
    chunk = dataset_service_pb2.UploadDatasetChunk(rows=good * 50)
    assert check_prompt_chunk(chunk, "chunk") == chunk.SerializeToString()
    assert walks.count == 0


def test_the_patterns_are_the_bad_rows_encodings() -> None:
    # Derived from the contract, and what a bad row looks like between good ones.
    rows = dataset_service_pb2.UploadDatasetChunk.DESCRIPTOR.fields_by_name["rows"].number
    conversation = dataset_pb2.DatasetPrompt.DESCRIPTOR.fields_by_name["messages"].number
    assert field(rows, b"") == prompt_rows.EMPTY_ROW
    assert field(rows, field(conversation, b"")) == prompt_rows.EMPTY_CONVERSATION
    for bad, pattern in (
        ("nothing", prompt_rows.EMPTY_ROW),
        ("empty conversation", prompt_rows.EMPTY_CONVERSATION),
    ):
        rows_around = [SHAPES["conversation"], SHAPES[bad], SHAPES["text"]]
        encoded = dataset_service_pb2.UploadDatasetChunk(rows=rows_around).SerializeToString()
        assert pattern in encoded


@pytest.mark.parametrize("pattern", ["EMPTY_ROW", "EMPTY_CONVERSATION"])
def test_a_false_alarm_is_walked_and_passes(walks: Walks, pattern: str) -> None:
    # A text (or a message's content) holding a pattern's bytes: the rows are walked, and
    # found good.
    inside = getattr(prompt_rows, pattern).decode()
    for row in (Prompt(text=f"a{inside}b"), conversation("hi", f"x{inside}")):
        chunk = dataset_service_pb2.UploadDatasetChunk(rows=[row, SHAPES["conversation"]])
        assert getattr(prompt_rows, pattern) in chunk.SerializeToString()
        assert check_prompt_chunk(chunk, "chunk") == chunk.SerializeToString()
    assert walks.count == 2


def test_a_zero_byte_without_a_pattern_is_not_walked(walks: Walks) -> None:
    rows = [Prompt(text="a\x00b"), conversation("a\x00b")] * 20
    chunk = dataset_service_pb2.UploadDatasetChunk(rows=rows)
    assert b"\x00" in chunk.SerializeToString()
    assert check_prompt_chunk(chunk, "chunk") == chunk.SerializeToString()
    assert walks.count == 0


def test_the_violations_name_the_rows() -> None:
    rows = [SHAPES["text"], SHAPES["nothing"], SHAPES["empty conversation"]]
    chunk = dataset_service_pb2.UploadDatasetChunk(rows=rows)
    assert check_verdict(chunk) == ["chunk.rows[1]", "chunk.rows[2].messages.messages"]


# --- any encoding without a zero byte passes ---------------------------------------------


def delimited(draw: st.DrawFn, number: int, payload: bytes, unpadded: bool) -> bytes:
    padding = 0 if unpadded else draw(st.sampled_from([0, 0, 0, 1, 2]))
    return varint(number << 3 | 2) + varint(len(payload), padding) + payload


@st.composite
def encoded_rows(draw: st.DrawFn) -> bytes:
    """A chunk's encoding as any encoder might write it, without unknown fields: rows of
    texts and message lists, fields repeated, lists in pieces, lengths padded or 0. Half
    the chunks leave out what needs a zero byte (empty rows, lists, texts; padding)."""
    whole = draw(st.booleans())
    least = 1 if whole else 0
    texts = st.text(alphabet=st.characters(codec="utf-8"), min_size=least, max_size=4)
    chunk = b""
    for _ in range(draw(st.integers(0, 4))):
        row = b""
        for _ in range(draw(st.integers(least, 3))):
            if draw(st.booleans()):
                row += delimited(draw, 1, draw(texts).encode(), whole)
            else:
                messages = [
                    message_pb2.Message(content=draw(texts)).SerializeToString()
                    for _ in range(draw(st.integers(least, 2)))
                ]
                pieces = b"".join(delimited(draw, 1, each, whole) for each in messages)
                row += delimited(draw, 2, pieces, whole)
        chunk += delimited(draw, 1, row, whole)
    return chunk


@settings(max_examples=400, derandomize=True, database=None, deadline=None)
@given(encoded_rows())
def test_without_a_zero_byte_any_encoding_passes(encoded: bytes) -> None:
    chunk = dataset_service_pb2.UploadDatasetChunk.FromString(encoded)
    if b"\x00" not in encoded:
        assert rule_verdict(chunk) == []
        assert prompt_rows._every_row_passes(encoded)
    assert check_verdict(chunk) == rule_verdict(chunk)


# --- the bytes the chunk arrived in ----------------------------------------------------


def request_bytes(chunk_bytes: bytes) -> bytes:
    """An UploadDatasetRequest's encoding holding `chunk_bytes` as its chunk, and nothing else."""
    number = dataset_service_pb2.UploadDatasetRequest.DESCRIPTOR.fields_by_name["chunk"].number
    return varint(number << 3 | 2) + varint(len(chunk_bytes)) + chunk_bytes


def test_received_bytes_are_kept_as_they_came(walks: Walks) -> None:
    # Not protobuf's encoding (text twice, a list in two pieces), and no zero byte: the rows
    # pass, and the chunk's part of the request is the answer, whatever the chunk's length
    # looks like.
    message = field(1, MESSAGE)
    received = (
        field(1, field(1, b"x") + field(1, b"y"))
        + field(1, field(2, message) + field(2, message))
        + field(1, field(1, b"z"))
    )
    chunk = dataset_service_pb2.UploadDatasetChunk.FromString(received)
    assert chunk.SerializeToString() != received
    assert check_prompt_chunk(chunk, "chunk", request_bytes(received)) == received
    number = dataset_service_pb2.UploadDatasetRequest.DESCRIPTOR.fields_by_name["chunk"].number
    padded = varint(number << 3 | 2) + varint(len(received), 2) + received
    assert check_prompt_chunk(chunk, "chunk", padded) == received
    assert walks.count == 0


@pytest.mark.parametrize(
    "why",
    ["a zero byte", "a header as well", "the chunk sent in two pieces", "no request bytes"],
)
def test_otherwise_the_chunk_is_encoded(walks: Walks, why: str) -> None:
    rows = [SHAPES["text"], SHAPES["conversation"]]
    if why == "a zero byte":
        rows.append(SHAPES["empty text"])
    chunk = dataset_service_pb2.UploadDatasetChunk(rows=rows)
    encoded = chunk.SerializeToString()
    received: bytes | None = request_bytes(encoded)
    if why == "a header as well":
        header = dataset_service_pb2.UploadDatasetRequest(
            header=dataset_service_pb2.UploadDatasetHeader(dataset_id="x")
        )
        received = header.SerializeToString() + request_bytes(encoded)
    elif why == "the chunk sent in two pieces":
        half = dataset_service_pb2.UploadDatasetChunk(rows=rows[:1]).SerializeToString()
        rest = dataset_service_pb2.UploadDatasetChunk(rows=rows[1:]).SerializeToString()
        received = request_bytes(half) + request_bytes(rest)
    elif why == "no request bytes":
        received = None
    if received is not None:
        decoded = dataset_service_pb2.UploadDatasetRequest.FromString(received)
        assert decoded.chunk == chunk
    assert check_prompt_chunk(chunk, "chunk", received) == encoded


def test_received_bytes_with_a_bad_row_are_walked(walks: Walks) -> None:
    # A bad row needs a zero byte, so its chunk is encoded and walked.
    rows = [SHAPES["text"], SHAPES["empty conversation"]]
    chunk = dataset_service_pb2.UploadDatasetChunk(rows=rows)
    encoded = chunk.SerializeToString()
    assert check_verdict_of(chunk, request_bytes(encoded)) == ["chunk.rows[1].messages.messages"]
    assert walks.count == 1


def check_verdict_of(chunk: dataset_service_pb2.UploadDatasetChunk, received: bytes) -> list[str]:
    try:
        check_prompt_chunk(chunk, "chunk", received)
    except ServiceError as error:
        return bad_request_fields(error)
    return []
