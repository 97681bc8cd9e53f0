"""Extract the wire facts our contract claims to share with upstream APIs into test data.

Reads ../shared/reference (the Generative Language v1beta tables and the batch completion
facts) and writes tests/contract/wire_reference.json: for each upstream message we mirror,
its fields (name, number, type, label, oneof; for Generative Language also field_behavior and
any custom json_name), and for each mirrored enum its values. The contract
tests compare our descriptors against that file, so the check stays data-driven and runs
without ../shared.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

# Upstream message name -> our message name (same name unless listed).
RENAMED = {"Dataset": "TuningDataset"}

GENLANG_MESSAGES = [
    "GenerateTextRequest",
    "GenerateTextResponse",
    "TextPrompt",
    "TextCompletion",
    "EmbedTextRequest",
    "EmbedTextResponse",
    "BatchEmbedTextRequest",
    "BatchEmbedTextResponse",
    "Embedding",
    "CountTextTokensRequest",
    "CountTextTokensResponse",
    "GenerateMessageRequest",
    "GenerateMessageResponse",
    "Message",
    "MessagePrompt",
    "Example",
    "CountMessageTokensRequest",
    "CountMessageTokensResponse",
    "GetModelRequest",
    "ListModelsRequest",
    "ListModelsResponse",
    "GetTunedModelRequest",
    "ListTunedModelsRequest",
    "ListTunedModelsResponse",
    "CreateTunedModelRequest",
    "CreateTunedModelMetadata",
    "UpdateTunedModelRequest",
    "DeleteTunedModelRequest",
    "TunedModel",
    "TunedModelSource",
    "TuningTask",
    "Hyperparameters",
    "Dataset",
    "TuningExamples",
    "TuningExample",
    "TuningSnapshot",
    "Model",
    "ContentFilter",
    "SafetyFeedback",
    "SafetyRating",
    "SafetySetting",
    "CitationMetadata",
    "CitationSource",
    "Content",
    "Part",
    "FunctionResponsePart",
    "Blob",
    "FunctionResponseBlob",
    "FileData",
    "FunctionCall",
    "FunctionResponse",
    "ExecutableCode",
    "CodeExecutionResult",
    "Tool",
    "CodeExecution",
    "ToolConfig",
    "FunctionCallingConfig",
    "FunctionDeclaration",
    "Schema",
    "ModalityTokenCount",
    "GenerateContentRequest",
    "GenerateContentResponse",
    "GenerateContentResponse.PromptFeedback",
    "GenerateContentResponse.UsageMetadata",
    "Candidate",
    "LogprobsResult",
    "LogprobsResult.TopCandidates",
    "LogprobsResult.Candidate",
    "GenerationConfig",
    "ThinkingConfig",
    "EmbedContentRequest",
    "EmbedContentResponse",
    "ContentEmbedding",
    "BatchEmbedContentsRequest",
    "BatchEmbedContentsResponse",
    "CountTokensRequest",
    "CountTokensResponse",
]

MIRRORED_ENUMS = [
    "HarmCategory",
    "ContentFilter.BlockedReason",
    "SafetyRating.HarmProbability",
    "SafetySetting.HarmBlockThreshold",
    "TunedModel.State",
    "Type",
    "ExecutableCode.Language",
    "CodeExecutionResult.Outcome",
    "FunctionCallingConfig.Mode",
    "FunctionDeclaration.Behavior",
    "FunctionResponse.Scheduling",
    "Modality",
    "Candidate.FinishReason",
    "GenerateContentResponse.PromptFeedback.BlockReason",
    "TaskType",
    "BatchInferenceTaskStatus",
    "ReasoningOptions.ReasoningMode",
]

BATCH_MESSAGES = [
    "BatchCompletionRequest",
    "CompletionOptions",
    "ReasoningOptions",
    "JsonSchema",
    "BatchCompletionMetadata",
    "BatchCompletionResponse",
]

ROW = re.compile(r"^\| (\d+) \| `(\w+)` \| `([^`]+)` \| (\S+) \| (\S+) \| ([^|]+) \| ([^|]+) \|")
JSON_NAME = re.compile(r"json_name=(\w+)")
BATCH_FIELD = re.compile(r"(\w+) = (\d+) : ([\w.]+)")
ENUM_VALUE = re.compile(r"([A-Z][A-Z0-9_]*)\s*=\s*(\d+)")


def genlang(text: str) -> tuple[dict[str, list[dict[str, object]]], dict[str, dict[str, int]]]:
    """Messages and enums from section 4 (v1beta) of the Generative Language reference."""
    section = text.split("## 4.", 1)[1].split("## 5.", 1)[0]
    messages: dict[str, list[dict[str, object]]] = {}
    enums: dict[str, dict[str, int]] = {}
    current: str | None = None
    lines = section.splitlines()
    for index, line in enumerate(lines):
        if heading := re.match(r"^#### message `([\w.]+)`", line):
            current = heading.group(1)
            messages[current] = []
        elif heading := re.match(r"^#### enum `(\w+)`", line):
            current = None
            enums[heading.group(1)] = _values(lines[index + 2])
        elif nested := re.match(r"^- nested enum `([\w.]+)`: (.*)", line):
            enums[nested.group(1)] = _values(nested.group(2))
        elif current and (row := ROW.match(line)):
            number, name, kind, label, oneof, behavior, notes = (g.strip() for g in row.groups())
            field: dict[str, object] = {
                "name": name,
                "number": int(number),
                "type": kind,
                "label": label,
                "oneof": oneof,
                "behavior": [] if behavior == "-" else [b.strip() for b in behavior.split(",")],
            }
            if json_name := JSON_NAME.search(notes):
                field["json_name"] = json_name.group(1)
            messages[current].append(field)
    return messages, enums


def batch(text: str) -> tuple[dict[str, list[dict[str, object]]], dict[str, dict[str, int]]]:
    """Messages and enums of the batch completion service from its reference."""
    core = text.split("## File: yandex/cloud/operation/operation.proto", 1)[0]
    messages: dict[str, list[dict[str, object]]] = {}
    for block in re.split(r"^### message ", core, flags=re.M)[1:]:
        name, body = block.split("\n", 1)
        body = body.split("\n### ", 1)[0]
        fields = []
        for line in body.splitlines():
            if not line.startswith("- "):
                continue
            oneof = m.group(1) if (m := re.match(r"- oneof (\w+)", line)) else "-"
            for field, number, kind in BATCH_FIELD.findall(line):
                fields.append(
                    {
                        "name": field,
                        "number": int(number),
                        "type": kind,
                        "label": "-",
                        "oneof": oneof,
                    }
                )
        messages[name.strip()] = fields
    status = core.split("enum BatchInferenceTaskStatus", 1)[1].split("## File", 1)[0]
    reasoning = core.split("nested enum ReasoningMode:", 1)[1].split("\n", 1)[0]
    enums = {
        "BatchInferenceTaskStatus": _values(status),
        "ReasoningOptions.ReasoningMode": _values(reasoning),
    }
    return messages, enums


def _values(text: str) -> dict[str, int]:
    return {name: int(number) for name, number in ENUM_VALUE.findall(text)}


def main(reference: Path, out: Path) -> None:
    """Write the wire table for the messages and enums our contract mirrors."""
    g_messages, g_enums = genlang((reference / "generative-language-v1beta-wire.md").read_text())
    b_messages, b_enums = batch((reference / "batch-completion-wire.md").read_text())
    table = {
        "renamed": RENAMED,
        "messages": {
            **{name: g_messages[name] for name in GENLANG_MESSAGES},
            **{name: b_messages[name] for name in BATCH_MESSAGES},
        },
        "enums": {name: {**g_enums, **b_enums}[name] for name in MIRRORED_ENUMS},
    }
    out.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
