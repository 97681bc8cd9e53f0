"""The prompt-row rules (ROW_RULES) checked a whole chunk at a time, on its encoding.

An upload brings rows in chunks of hundreds, and walking the rules over every row costs many
times what decoding the row did. So a chunk is first checked whole, on its encoding (which
the store needs anyway), by looking at its bytes. That relies on the chunk holding no unknown
fields, which the request policy guarantees (rpc/unknown_fields.py refuses every request
that holds one before a servicer sees it); for a chunk that does hold some, the answer may be
wrong.

A chunk whose encoding has no zero byte passes, whatever encoder made it. Every row is a
length-delimited field, and a length of 0, like any varint padded with extra bytes, ends in a
zero byte; so each row holds a field, and without unknown fields that field is `text` or
`messages`: the row has a prompt. Likewise, the last `messages` field of a row whose prompt
is a conversation holds a field, and it can only be a message (anything else would be an
unknown field of the list, and merging keeps those), so the conversation has a message.
Texts and messages seldom hold a zero byte, so one scan for it clears the common chunk.

Where a zero byte is present, the encoding being protobuf's own settles most chunks: each
message lists its fields in field-number order, and a row sets at most one member of its
`prompt` oneof, so a bad row is encoded as exactly

- EMPTY_ROW (b"\\x0a\\x00" today: `rows`, length 0) when it has no prompt, and
- EMPTY_CONVERSATION (b"\\x0a\\x02\\x12\\x00": `rows` holding an empty `messages`) when
  its conversation has no message.

The patterns are made by encoding a chunk of that one row, so they follow the contract. If
neither occurs, every row passes. If one does (it may also be part of a text, or an empty
message), the rules are walked row by row, which gives exactly the violations and field
paths CreateDataset reports.
"""

from __future__ import annotations

from textgen.server.validation.dataset_rules import ROW_RULES
from textgen.server.validation.rules import ensure, violations
from textgen.v1 import dataset_pb2, dataset_service_pb2

# The two bad rows as protobuf encodes them in a chunk: the encoding of a chunk of that row.
_Chunk = dataset_service_pb2.UploadDatasetChunk
EMPTY_ROW = _Chunk(rows=[dataset_pb2.DatasetPrompt()]).SerializeToString()
EMPTY_CONVERSATION = _Chunk(
    rows=[dataset_pb2.DatasetPrompt(messages=dataset_pb2.MessageList())]
).SerializeToString()
_ZERO = b"\x00"


def _every_row_passes(encoded: bytes) -> bool:
    # True only if no row of the chunk encoded as `encoded` (by protobuf, and without unknown
    # fields) breaks a rule; False if one may.
    if _ZERO not in encoded:
        return True
    return EMPTY_ROW not in encoded and EMPTY_CONVERSATION not in encoded


def check_prompt_chunk(chunk: dataset_service_pb2.UploadDatasetChunk, prefix: str) -> bytes:
    """INVALID_ARGUMENT naming every row of `chunk` that breaks ROW_RULES (field paths under
    `prefix`); otherwise the chunk's encoding, which the check has made anyway. `chunk`
    holds no unknown fields (the request policy has refused any request that did)."""
    encoded = chunk.SerializeToString()
    if not _every_row_passes(encoded):
        ensure(violations(chunk, ROW_RULES, prefix))
    return encoded
