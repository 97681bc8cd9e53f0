"""Friendly inputs to protos: contents, messages, safety settings and generate_content config.

Contents follow the familiar SDK rules: a Content is kept as it is; a str or a Part becomes a
part; consecutive function-call parts form one `model` turn, consecutive other parts one
`user` turn; a list nested in the list is one `user` turn of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from google.protobuf import json_format

from textgen import _functions, _schema
from textgen.types import AutomaticFunctionCallingConfig, ConfigInput, GenerateContentConfig
from textgen.v1 import content_pb2, generation_pb2, message_pb2, model_service_pb2, safety_pb2

Part = content_pb2.Part
Content = content_pb2.Content
PartInput: TypeAlias = str | Part
ContentsInput: TypeAlias = (
    str | Part | Content | Sequence[str | Part | Content | Sequence[PartInput]]
)
MessageInput: TypeAlias = str | message_pb2.Message


def to_part(value: PartInput) -> Part:
    """A Part from a str (text) or a Part."""
    if isinstance(value, str):
        return Part(text=value)
    if isinstance(value, Part):
        return value
    raise TypeError(f"expected a str or a Part, got {type(value).__name__}")


def _is_call(part: Part) -> bool:
    return part.WhichOneof("data") == "function_call"


def to_contents(contents: ContentsInput) -> list[Content]:
    """Normalise `contents` into a list of Content turns (see the module docstring)."""
    items: Sequence[Any] = (
        [contents] if isinstance(contents, str | Part | Content) else list(contents)
    )
    turns: list[Content] = []
    pending: list[Part] = []

    def flush() -> None:
        if pending:
            role = "model" if _is_call(pending[0]) else "user"
            turns.append(Content(role=role, parts=list(pending)))
            pending.clear()

    for item in items:
        if isinstance(item, Content):
            flush()
            turns.append(item)
        elif isinstance(item, str | Part):
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
    """One Content from a str, Part, Content or list of str/Part (for system instructions)."""
    if isinstance(value, Content):
        return value
    parts = [value] if isinstance(value, str | Part) else list(value)
    return Content(role=role, parts=[to_part(p) for p in parts])


def safety_settings(
    items: Sequence[safety_pb2.SafetySetting | Mapping[str, Any]],
) -> list[safety_pb2.SafetySetting]:
    """SafetySetting protos from protos or dicts with enum names or numbers."""
    return [
        item
        if isinstance(item, safety_pb2.SafetySetting)
        else json_format.ParseDict(dict(item), safety_pb2.SafetySetting())
        for item in items
    ]


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
    return GenerateContentConfig(**config)


_SAMPLING = ("temperature", "max_output_tokens", "candidate_count", "top_p", "top_k", "seed")


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
        schema, prepared.parser = _schema.response_schema(settings.response_schema)
        generation.response_schema.CopyFrom(schema)
        generation.response_mime_type = generation.response_mime_type or "application/json"
    if settings.response_json_schema is not None:
        json_format.ParseDict(settings.response_json_schema, generation.response_json_schema)
        generation.response_mime_type = generation.response_mime_type or "application/json"
        prepared.parser = json.loads
    if generation.ListFields():
        request.generation_config.CopyFrom(generation)
    if settings.system_instruction is not None:
        request.system_instruction.CopyFrom(to_content(settings.system_instruction))
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
