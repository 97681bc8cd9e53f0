"""The prompt-row rules (ROW_RULES) checked a whole chunk at a time, on its encoding.

An upload brings rows in chunks of hundreds, and walking the rules over every row costs
many times what decoding the row did. So a chunk is checked whole first, on its encoding,
which the store needs anyway. That encoding is protobuf's own, of a decoded message: every
message in it lists its known fields in field-number order and its unknown fields last,
and a row sets at most one member of its `prompt` oneof. So, as long as the chunk, its rows
and their message lists hold no unknown fields, a bad row has exactly one encoding:

- a row without a prompt is an empty row, EMPTY_ROW (today b"\\x0a\\x00": `rows`, length 0);
- a conversation without a message is a row whose only field is an empty list,
  EMPTY_CONVERSATION (b"\\x0a\\x02\\x12\\x00": `rows` holding `messages` of length 0).

Both patterns are made by encoding a chunk of that one row, so they follow the contract.
Both end in a zero byte, which texts and messages seldom hold, so one scan for a zero byte
clears the common chunk; where there is one, the patterns are looked for. Not finding them
clears the chunk. Finding one (it may also sit inside a text, or be an empty message)
means only that the rows are walked.

Whether unknown fields are present is learnt by decoding the encoding again as a stand-in
`Chunk { Rows rows; }`, `Rows { bytes text; List messages; }`, `List { bytes messages; }`
with the contract's field numbers. Every field of the stand-in is singular, so protobuf
merges all rows into one `Rows` and all message lists into one `List`, and any unknown
fields they held end up in one of those three messages, which are quick to ask. (The
request policy refuses requests with unknown fields before a servicer sees them, so in the
server there are none; the check does not count on it, it walks the rows then.)

The walk, where it runs, gives exactly the violations and field paths CreateDataset reports.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message

from textgen._protobuf import unknown_field_numbers
from textgen.server.validation.dataset_rules import ROW_RULES
from textgen.server.validation.rules import ensure, violations
from textgen.v1 import dataset_pb2, dataset_service_pb2

_ROWS = dataset_service_pb2.UploadDatasetChunk.DESCRIPTOR.fields_by_name["rows"].number
_TEXT = dataset_pb2.DatasetPrompt.DESCRIPTOR.fields_by_name["text"].number
_LIST = dataset_pb2.DatasetPrompt.DESCRIPTOR.fields_by_name["messages"].number
_MESSAGES = dataset_pb2.MessageList.DESCRIPTOR.fields_by_name["messages"].number


# What the two bad rows look like inside a chunk without unknown fields: protobuf's encoding
# of a chunk holding just that row.
Chunk = dataset_service_pb2.UploadDatasetChunk
EMPTY_ROW = Chunk(rows=[dataset_pb2.DatasetPrompt()]).SerializeToString()
EMPTY_CONVERSATION = Chunk(
    rows=[dataset_pb2.DatasetPrompt(messages=dataset_pb2.MessageList())]
).SerializeToString()
_ZERO = b"\x00"  # the length 0 both end with
assert EMPTY_ROW.endswith(_ZERO) and EMPTY_CONVERSATION.endswith(_ZERO)


def _stand_in() -> type[Message]:
    # The stand-in of the module docstring, in a pool of its own.
    field = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="textgen/server/validation/merged_rows.proto",
        package="textgen.server.validation",
        syntax="proto3",
    )
    shapes = {
        "List": [("messages", _MESSAGES, "")],
        "Rows": [("text", _TEXT, ""), ("messages", _LIST, "List")],
        "Chunk": [("rows", _ROWS, "Rows")],
    }
    for name, fields in shapes.items():
        message = file.message_type.add(name=name)
        for field_name, number, message_type in fields:
            added = message.field.add(name=field_name, number=number, label=field.LABEL_OPTIONAL)
            if message_type:
                added.type = field.TYPE_MESSAGE
                added.type_name = f".{file.package}.{message_type}"
            else:
                added.type = field.TYPE_BYTES
    # Older typing stubs leave the pool's methods untyped, newer ones type them: Any suits both.
    pool: Any = descriptor_pool.DescriptorPool()
    pool.Add(file)
    chunk_type = pool.FindMessageTypeByName(f"{file.package}.Chunk")
    return message_factory.GetMessageClass(chunk_type)


_MergedChunk = _stand_in()


def _every_row_passes(encoded: bytes) -> bool:
    # True only if no row of the chunk encoded as `encoded` breaks a rule; False if one may.
    if _ZERO in encoded and (EMPTY_ROW in encoded or EMPTY_CONVERSATION in encoded):
        return False
    try:
        chunk: Any = _MergedChunk.FromString(encoded)
    except DecodeError:
        return False
    merged = (chunk, chunk.rows, chunk.rows.messages)
    return not any(unknown_field_numbers(message) for message in merged)


def check_prompt_chunk(chunk: dataset_service_pb2.UploadDatasetChunk, prefix: str) -> bytes:
    """INVALID_ARGUMENT naming every row of `chunk` that breaks ROW_RULES (field paths under
    `prefix`); otherwise the chunk's encoding, which the check has made anyway."""
    encoded = chunk.SerializeToString()
    if not _every_row_passes(encoded):
        ensure(violations(chunk, ROW_RULES, prefix))
    return encoded
