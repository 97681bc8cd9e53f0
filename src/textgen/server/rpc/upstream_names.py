"""Upstream names for the fields of mirrored request messages that the contract leaves out.

Only the refusal of unknown fields (`textgen.server.rpc.unknown_fields`) reads this table, to
call such a field by the name its sender knows it by (`thought_signature` rather than `#13`).
Which fields are unknown is decided by the messages' descriptors, never by this table, so a
field the contract gains is accepted at once and its entry here simply stops being used.

The names and numbers are those of tests/contract/wire_reference.json, which a test checks
this table against; it also checks that every such field a request can carry is named here.
"""

from __future__ import annotations

from collections.abc import Mapping

# Our message's full name -> {field number -> upstream field name}.
UPSTREAM_NAMES: Mapping[str, Mapping[int, str]] = {
    "textgen.v1.Part": {8: "part_metadata", 14: "video_metadata"},
    "textgen.v1.Tool": {
        2: "google_search_retrieval",
        4: "google_search",
        6: "computer_use",
        8: "url_context",
        9: "file_search",
        11: "google_maps",
    },
    "textgen.v1.ToolConfig": {2: "retrieval_config"},
    "textgen.v1.GenerationConfig": {
        19: "enable_enhanced_civic_answers",
        20: "response_modalities",
        21: "speech_config",
        23: "media_resolution",
        27: "image_config",
    },
}
