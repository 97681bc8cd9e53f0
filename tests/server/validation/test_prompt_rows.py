"""The whole-chunk check of prompt rows agrees with the row rules, row shape by row shape,
and vouches for valid chunks without walking the rules."""

from __future__ import annotations

import random

import pytest
from google.rpc import error_details_pb2
from textgen.v1 import dataset_pb2, dataset_service_pb2, message_pb2

from textgen.server.rpc.errors import ServiceError
from textgen.server.validation import prompt_rows
from textgen.server.validation.dataset_rules import ROW_RULES
from textgen.server.validation.prompt_rows import check_prompt_chunk
from textgen.server.validation.rules import violations

Prompt = dataset_pb2.DatasetPrompt
UNKNOWN = b"\x38\x01"  # field 7, a varint: no field of DatasetPrompt or MessageList


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


# Row shapes, good and bad, including encodings a client with another schema might send.
SHAPES: dict[str, Prompt] = {
    "text": Prompt(text="a prompt"),
    "empty text": Prompt(text=""),
    "text with a NUL": Prompt(text="a\n\x00b"),
    "conversation": conversation("hello", "there"),
    "one empty message": Prompt(messages=dataset_pb2.MessageList(messages=[message_pb2.Message()])),
    "nothing": Prompt(),
    "empty conversation": Prompt(messages=dataset_pb2.MessageList()),
    "only an unknown field": decoded(UNKNOWN),
    "text and an unknown field": decoded(field(1, b"x") + UNKNOWN),
    "a list of only an unknown field": decoded(field(2, UNKNOWN)),
    "a list with an unknown field first": decoded(field(2, UNKNOWN + field(1, MESSAGE))),
    "text then a conversation": decoded(field(1, b"x") + field(2, field(1, MESSAGE))),
    "a conversation then text": decoded(field(2, field(1, MESSAGE)) + field(1, b"x")),
    "text then an empty list": decoded(field(1, b"x") + field(2, b"")),
    "text twice": decoded(field(1, b"x") + field(1, b"y")),
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


def test_a_valid_chunk_is_not_walked_row_by_row(monkeypatch: pytest.MonkeyPatch) -> None:
    def walked(*args: object) -> list[object]:
        raise AssertionError("the rules were walked")

    monkeypatch.setattr(prompt_rows, "violations", walked)
    good = [
        SHAPES[name]
        for name in ("text", "conversation", "text and an unknown field", "one empty message")
    ]
    chunk = dataset_service_pb2.UploadDatasetChunk(rows=good * 50)
    assert check_prompt_chunk(chunk, "chunk") == chunk.SerializeToString()


def test_violations_name_the_rows() -> None:
    rows = [SHAPES["text"], SHAPES["nothing"], SHAPES["empty conversation"]]
    chunk = dataset_service_pb2.UploadDatasetChunk(rows=rows)
    assert check_verdict(chunk) == ["chunk.rows[1]", "chunk.rows[2].messages.messages"]
