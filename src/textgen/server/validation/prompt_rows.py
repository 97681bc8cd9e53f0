"""The prompt-row rules (ROW_RULES) checked a whole chunk at a time, on its encoding.

An upload brings rows in chunks of hundreds, and walking the rules over every row costs many
times what decoding the row did. So a chunk is first checked whole, by looking at the bytes
of its encoding. That relies on the chunk holding no unknown fields, which the request policy
guarantees (rpc/unknown_fields.py refuses any request holding one before a servicer sees
it); for a chunk that does hold some, the answer may be wrong.

An encoding without a zero byte passes, whatever encoder wrote it. Every row is a
length-delimited field, and a length of 0 ends in a zero byte, as does any varint padded
with extra bytes; so each row holds a field, and without unknown fields that is `text` or
`messages`: the row has a prompt. Likewise, the last `messages` field of a row whose prompt
is a conversation holds a field, and that can only be a message (anything else would be an
unknown field of the list, which merging keeps): the conversation has a message. Texts and
messages seldom hold a zero byte, so one scan clears the common chunk, and an upload's chunk
is checked and stored in the bytes it arrived in (rpc/unknown_fields.received_encoding),
with nothing encoded at all.

Otherwise the chunk is encoded by protobuf, which writes each message's fields in
field-number order and at most one member of a row's `prompt` oneof, so a bad row is encoded
as exactly

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
from textgen.server.validation.plan import ensure, violations
from textgen.v1 import dataset_pb2, dataset_service_pb2

# The two bad rows as protobuf encodes them in a chunk: the encoding of a chunk of that row.
_Chunk = dataset_service_pb2.UploadDatasetChunk
EMPTY_ROW = _Chunk(rows=[dataset_pb2.DatasetPrompt()]).SerializeToString()
EMPTY_CONVERSATION = _Chunk(
    rows=[dataset_pb2.DatasetPrompt(messages=dataset_pb2.MessageList())]
).SerializeToString()
_ZERO = b"\x00"
# The tag of UploadDatasetRequest.chunk: its encoding when it holds an empty chunk, less the
# length (0) at the end.
_CHUNK_TAG = dataset_service_pb2.UploadDatasetRequest(chunk=_Chunk()).SerializeToString()[:-1]
_VARINT_BITS = 64


def _every_row_passes(encoded: bytes) -> bool:
    # True only if no row of the chunk encoded as `encoded` (by protobuf, and without unknown
    # fields) breaks a rule; False if one may.
    if _ZERO not in encoded:
        return True
    return EMPTY_ROW not in encoded and EMPTY_CONVERSATION not in encoded


def check_prompt_chunk(
    chunk: dataset_service_pb2.UploadDatasetChunk,
    prefix: str,
    request_encoding: bytes | None = None,
) -> bytes:
    """INVALID_ARGUMENT naming every row of `chunk` that breaks ROW_RULES (field paths under
    `prefix`); otherwise an encoding of the chunk. `chunk` holds no unknown fields (the
    request policy has refused any request that did).

    `request_encoding` is what the UploadDatasetRequest carrying `chunk` was decoded from,
    when that is at hand. If it holds the chunk alone and the chunk's part has no zero byte,
    that part is the answer: it passes (see above) and nothing is encoded. Otherwise the
    chunk is encoded, which is the answer if it passes.
    """
    if request_encoding is not None:
        received = _chunk_part(request_encoding)
        if received is not None and _ZERO not in received:
            return received
    encoded = chunk.SerializeToString()
    if not _every_row_passes(encoded):
        ensure(violations(chunk, ROW_RULES, prefix))
    return encoded


def _chunk_part(request_encoding: bytes) -> bytes | None:
    # The chunk's bytes, if the request's encoding is its `chunk` field and nothing else.
    if not request_encoding.startswith(_CHUNK_TAG):
        return None
    at = len(_CHUNK_TAG)
    length = shift = 0
    while at < len(request_encoding) and shift < _VARINT_BITS:
        byte = request_encoding[at]
        length |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if byte < 0x80:
            return request_encoding[at:] if at + length == len(request_encoding) else None
    return None
