"""Friendly inputs to protos: contents, messages and generate_content config.

Contents follow the familiar SDK rules: a Content is kept as it is; a str or a Part becomes a
part; consecutive function-call parts form one `model` turn, consecutive other parts one
`user` turn; a list nested in the list is one `user` turn of its own. Dicts work wherever
protos do: `{"role": "model", "parts": "Great to meet you."}` is a turn (its parts a str, a
part, or a list of them) and `{"text": "Hi"}` or `{"inline_data": {...}}` is a part.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeAlias

from google.protobuf import json_format

from textgen import _functions, _safety, _schema
from textgen.types import AutomaticFunctionCallingConfig, ConfigInput, GenerateContentConfig
from textgen.v1 import content_pb2, generation_pb2, message_pb2, model_service_pb2, safety_pb2

Part = content_pb2.Part
Content = content_pb2.Content
PartInput: TypeAlias = str | Part | Mapping[str, Any]
ContentsInput: TypeAlias = (
    str
    | Part
    | Content
    | Mapping[str, Any]
    | Sequence[str | Part | Content | Mapping[str, Any] | Sequence[PartInput]]
)
MessageInput: TypeAlias = str | message_pb2.Message
_TURN_KEYS = frozenset({"role", "parts"})
ENUM_MIME_TYPE = "text/x.enum"


def _is_turn(value: Mapping[str, Any]) -> bool:
    return bool(value) and set(value) <= _TURN_KEYS


def _part_from_dict(value: Mapping[str, Any]) -> Part:
    plain = dict(value)
    inline = plain.get("inline_data", plain.get("inlineData"))
    if isinstance(inline, Mapping) and isinstance(inline.get("data"), bytes | bytearray):
        # Raw bytes, as Python code holds them; proto JSON wants them in base64.
        encoded = base64.b64encode(bytes(inline["data"])).decode("ascii")
        plain["inline_data" if "inline_data" in plain else "inlineData"] = {
            **inline,
            "data": encoded,
        }
    try:
        return json_format.ParseDict(plain, Part())
    except json_format.ParseError as error:
        raise TypeError(f"cannot read {value!r} as a Part: {error}") from None


def to_part(value: PartInput) -> Part:
    """A Part from a str (text), a Part, or a dict such as {"text": "Hi"}."""
    if isinstance(value, str):
        return Part(text=value)
    if isinstance(value, Part):
        return value
    if isinstance(value, Mapping):
        return _part_from_dict(value)
    raise TypeError(f"expected a str, a Part or a dict, got {type(value).__name__}")


def to_turn(value: Content | Mapping[str, Any]) -> Content:
    """A Content from itself or from a dict with `role` and `parts` (a str, part or list)."""
    if isinstance(value, Content):
        return value
    if not isinstance(value, Mapping) or not _is_turn(value):
        raise TypeError(f"expected a Content or a dict with 'role' and 'parts', got {value!r:.80}")
    parts = value.get("parts", [])
    listed = [parts] if isinstance(parts, str | Part | Mapping) else list(parts)
    return Content(role=str(value.get("role", "")), parts=[to_part(p) for p in listed])


def to_history(history: Sequence[Content | Mapping[str, Any]]) -> list[Content]:
    """A chat's history from Content protos and turn dicts."""
    return [to_turn(turn) for turn in history]


def _is_call(part: Part) -> bool:
    return part.WhichOneof("data") == "function_call"


def to_contents(contents: ContentsInput) -> list[Content]:
    """Normalise `contents` into a list of Content turns (see the module docstring)."""
    items: Sequence[Any] = (
        [contents] if isinstance(contents, str | Part | Content | Mapping) else list(contents)
    )
    turns: list[Content] = []
    pending: list[Part] = []

    def flush() -> None:
        if pending:
            role = "model" if _is_call(pending[0]) else "user"
            turns.append(Content(role=role, parts=list(pending)))
            pending.clear()

    for item in items:
        if isinstance(item, Content) or (isinstance(item, Mapping) and _is_turn(item)):
            flush()
            turns.append(to_turn(item))
        elif isinstance(item, str | Part | Mapping):
            part = to_part(item)
            if pending and _is_call(pending[0]) != _is_call(part):
                flush()
            pending.append(part)
        elif isinstance(item, Sequence):
            flush()
            turns.append(Content(role="user", parts=[to_part(p) for p in item]))
        else:
            raise TypeError(f"cannot use {type(item).__name__} as content")
    flush()
    return turns


def to_content(value: Any, role: str = "") -> Content:  # noqa: ANN401
    """One Content from a str, Part, Content, turn dict or list of parts (for system
    instructions)."""
    if isinstance(value, Content) or (isinstance(value, Mapping) and _is_turn(value)):
        return to_turn(value)
    parts = [value] if isinstance(value, str | Part | Mapping) else list(value)
    return Content(role=role, parts=[to_part(p) for p in parts])


def safety_settings(
    value: _safety.SafetyInput, family: _safety.Family = "content"
) -> list[safety_pb2.SafetySetting]:
    """SafetySetting protos from any form `textgen._safety` accepts."""
    return _safety.safety_settings(value, family)


def to_message(value: MessageInput, author: str) -> message_pb2.Message:
    """A Message; bare strings get `author`."""
    if isinstance(value, message_pb2.Message):
        return value
    return message_pb2.Message(author=author, content=value)


def message_prompt(
    messages: MessageInput | Sequence[MessageInput],
    context: str | None,
    examples: Sequence[message_pb2.Example | tuple[MessageInput, MessageInput]],
) -> message_pb2.MessagePrompt:
    """A MessagePrompt; bare-string messages alternate between authors "0" and "1"."""
    listed = [messages] if isinstance(messages, str | message_pb2.Message) else list(messages)
    prompt = message_pb2.MessagePrompt(
        context=context or "",
        messages=[to_message(m, str(i % 2)) for i, m in enumerate(listed)],
    )
    for example in examples:
        if isinstance(example, message_pb2.Example):
            prompt.examples.append(example)
        else:
            question, answer = example
            prompt.examples.append(
                message_pb2.Example(input=to_message(question, "0"), output=to_message(answer, "1"))
            )
    return prompt


@dataclass
class Prepared:
    """A config turned into request fields, the callable tools and the answer parser."""

    template: model_service_pb2.GenerateContentRequest
    functions: dict[str, Callable[..., Any]] = field(default_factory=dict)
    automatic: AutomaticFunctionCallingConfig = field(
        default_factory=AutomaticFunctionCallingConfig
    )
    parser: Callable[[str], Any] | None = None

    def request(
        self, model: str, contents: Sequence[Content]
    ) -> model_service_pb2.GenerateContentRequest:
        """The full request for `contents`."""
        request = model_service_pb2.GenerateContentRequest()
        request.CopyFrom(self.template)
        request.model = model
        request.contents.extend(contents)
        return request


def as_config(config: ConfigInput) -> GenerateContentConfig:
    """A GenerateContentConfig from itself, a dict, or None."""
    if config is None:
        return GenerateContentConfig()
    if isinstance(config, GenerateContentConfig):
        return config
    known = {f.name for f in fields(GenerateContentConfig)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise TypeError(
            f"GenerateContentConfig has no {', '.join(map(repr, unknown))}; "
            f"it takes {', '.join(sorted(known))}"
        )
    return GenerateContentConfig(**config)


_SAMPLING = (
    "temperature",
    "max_output_tokens",
    "candidate_count",
    "top_p",
    "top_k",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "response_logprobs",
    "logprobs",
)


def _thinking(
    value: generation_pb2.ThinkingConfig | Mapping[str, Any],
) -> generation_pb2.ThinkingConfig:
    if isinstance(value, generation_pb2.ThinkingConfig):
        return value
    return json_format.ParseDict(dict(value), generation_pb2.ThinkingConfig())


def _answer_parser(
    mime_type: str, spec: object, parser: Callable[[str], Any]
) -> Callable[[str], Any]:
    if mime_type != ENUM_MIME_TYPE:
        return parser
    # text/x.enum answers one of the values as plain text, not as JSON.
    return lambda text: _schema.to_python(text.strip(), spec)


def prepare(config: ConfigInput) -> Prepared:
    """Turn generate_content's config into a request template and the rest of the plan."""
    settings = as_config(config)
    request = model_service_pb2.GenerateContentRequest()
    generation = generation_pb2.GenerationConfig(stop_sequences=list(settings.stop_sequences))
    for name in _SAMPLING:
        value = getattr(settings, name)
        if value is not None:
            setattr(generation, name, value)
    prepared = Prepared(request)
    if settings.response_mime_type:
        generation.response_mime_type = settings.response_mime_type
    if settings.response_schema is not None:
        schema, parser = _schema.response_schema(settings.response_schema)
        generation.response_schema.CopyFrom(schema)
        generation.response_mime_type = generation.response_mime_type or "application/json"
        prepared.parser = _answer_parser(
            generation.response_mime_type, settings.response_schema, parser
        )
    if settings.thinking_config is not None:
        generation.thinking_config.CopyFrom(_thinking(settings.thinking_config))
    if settings.response_json_schema is not None:
        json_format.ParseDict(settings.response_json_schema, generation.response_json_schema)
        generation.response_mime_type = generation.response_mime_type or "application/json"
        prepared.parser = json.loads
    if generation.ListFields():
        request.generation_config.CopyFrom(generation)
    if settings.system_instruction is not None:
        request.system_instruction.CopyFrom(to_content(settings.system_instruction))
    if settings.cached_content is not None:
        request.cached_content = settings.cached_content
    request.safety_settings.extend(safety_settings(settings.safety_settings))
    if isinstance(settings.tool_config, content_pb2.ToolConfig):
        request.tool_config.CopyFrom(settings.tool_config)
    elif settings.tool_config is not None:
        json_format.ParseDict(settings.tool_config, request.tool_config)
    _add_tools(prepared, settings.tools)
    automatic = settings.automatic_function_calling
    if isinstance(automatic, Mapping):
        automatic = AutomaticFunctionCallingConfig(**automatic)
    if automatic is not None:
        prepared.automatic = automatic
    return prepared


def _add_tools(prepared: Prepared, tools: Sequence[Any]) -> None:
    declared = content_pb2.Tool()
    for tool in tools:
        if isinstance(tool, content_pb2.Tool):
            prepared.template.tools.append(tool)
        elif isinstance(tool, content_pb2.FunctionDeclaration):
            declared.function_declarations.append(tool)
        elif callable(tool):
            declaration = _functions.declare(tool)
            declared.function_declarations.append(declaration)
            prepared.functions[declaration.name] = tool
        else:
            raise TypeError(f"cannot use {type(tool).__name__} as a tool")
    if declared.function_declarations:
        prepared.template.tools.append(declared)
