"""The prompt-row rules (ROW_RULES) checked a whole chunk at a time, on its encoding.

An upload brings rows in chunks of hundreds, and walking the rules over every row costs
many times what decoding the row did. So a chunk is checked whole first. It is encoded
(which the store needs anyway), and the encoding is decoded again as a stand-in message
whose field 1 is a single message rather than a repeated one: protobuf merges the repeated
occurrences of a singular message field, so every row lands in that one message, with each
row's `text` and `messages` collected in two lists. The encoding is protobuf's own, of a
decoded message: a row carries at most one of its oneof fields, and a list's messages come
before anything unknown. Hence:

- every row has a prompt exactly when the two lists hold as many entries as there are rows;
- every conversation has a message exactly when each collected MessageList encoding starts
  with the tag of its `messages` field.

When both hold, no row breaks a rule. Otherwise the rule walk runs, so the violations and
their field paths are exactly those CreateDataset reports.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

from textgen.server.validation.dataset_rules import ROW_RULES
from textgen.server.validation.rules import ensure, violations
from textgen.v1 import dataset_service_pb2

# MessageList's field 1 (`messages`, length-delimited): the first byte of a non-empty list.
_MESSAGE_TAG = b"\x0a"


def _merged_rows_type() -> type[Message]:
    # `Chunk { Rows rows = 1; }` and `Rows { repeated bytes text = 1; repeated bytes
    # messages = 2; }`, in a pool of their own.
    field = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="textgen/server/validation/merged_rows.proto",
        package="textgen.server.validation",
        syntax="proto3",
    )
    rows = file.message_type.add(name="Rows")
    for number, name in ((1, "text"), (2, "messages")):
        rows.field.add(name=name, number=number, type=field.TYPE_BYTES, label=field.LABEL_REPEATED)
    chunk = file.message_type.add(name="Chunk")
    chunk.field.add(
        name="rows",
        number=1,
        type=field.TYPE_MESSAGE,
        type_name=".textgen.server.validation.Rows",
        label=field.LABEL_OPTIONAL,
    )
    # Older typing stubs leave the pool's methods untyped, newer ones type them: Any suits both.
    pool: Any = descriptor_pool.DescriptorPool()
    pool.Add(file)
    chunk_type = pool.FindMessageTypeByName(f"{file.package}.Chunk")
    return message_factory.GetMessageClass(chunk_type)


_MergedChunk = _merged_rows_type()


def _every_row_passes(encoded: bytes, count: int) -> bool:
    merged = _MergedChunk.FromString(encoded).rows  # type: ignore[attr-defined]
    if len(merged.text) + len(merged.messages) != count:
        return False
    if not merged.messages:
        return True
    # Every encoding starts with the tag when the smallest and the largest first bytes do.
    conversations = list(merged.messages)
    return bool(min(conversations)[:1] == _MESSAGE_TAG == max(conversations)[:1])


def check_prompt_chunk(chunk: dataset_service_pb2.UploadDatasetChunk, prefix: str) -> bytes:
    """INVALID_ARGUMENT naming every row of `chunk` that breaks ROW_RULES (field paths under
    `prefix`); otherwise the chunk's encoding, which the check has made anyway."""
    encoded = chunk.SerializeToString()
    if not _every_row_passes(encoded, len(chunk.rows)):
        ensure(violations(chunk, ROW_RULES, prefix))
    return encoded
