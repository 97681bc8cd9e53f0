"""Generation options shared by `generate` and `stream`, and the calls for each API family."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textgen.cli._errors import InputError
from textgen.cli._models import APIS, AUTO, Api

if TYPE_CHECKING:
    from textgen.client import Client

# Options the message (chat) API does not take.
NOT_FOR_MESSAGES = ("max_output_tokens", "stop_sequences", "system")


@dataclass(frozen=True)
class Answer:
    """What a generation call produced: every candidate's text and the raw response."""

    candidates: list[str]
    raw: Any


def add_generation_options(parser: argparse.ArgumentParser) -> None:
    """MODEL, PROMPT, --api and the sampling options."""
    parser.add_argument("model", metavar="MODEL", help="e.g. gemini-1.5-flash, tunedModels/x")
    parser.add_argument("prompt", metavar="PROMPT", help="the prompt text")
    parser.add_argument(
        "--api",
        choices=(AUTO, *APIS),
        default=AUTO,
        help="API family to call; auto reads the model's supported methods (default: auto)",
    )
    parser.add_argument("--temperature", type=float, help="randomness, e.g. 0.0 to 1.0")
    parser.add_argument("--max-output-tokens", type=int, metavar="N", help="answer length cap")
    parser.add_argument("--candidate-count", type=int, metavar="N", help="answers to return")
    parser.add_argument("--top-p", type=float, metavar="P", help="nucleus sampling mass")
    parser.add_argument("--top-k", type=int, metavar="K", help="sample among the K likeliest")
    parser.add_argument(
        "--stop",
        dest="stop_sequences",
        action="append",
        default=[],
        metavar="TEXT",
        help="stop at this text (repeatable)",
    )
    parser.add_argument("--system", metavar="TEXT", help="system instruction (content API)")


def sampling(args: argparse.Namespace) -> dict[str, Any]:
    """The sampling options that were given, by their client keyword names."""
    names = ("temperature", "max_output_tokens", "candidate_count", "top_p", "top_k")
    given: dict[str, Any] = {name: getattr(args, name) for name in names}
    given = {name: value for name, value in given.items() if value is not None}
    if args.stop_sequences:
        given["stop_sequences"] = list(args.stop_sequences)
    return given


def generate(client: Client, api: Api, args: argparse.Namespace) -> Answer:
    """One generation call in the chosen family."""
    options = sampling(args)
    if api == "content":
        config = dict(options, system_instruction=args.system) if args.system else options
        content = client.models.generate_content(args.model, args.prompt, config=config)
        first = content.text  # raises BlockedContentError when the answer was blocked
        texts = [_candidate_text(c) for c in content.raw.candidates]
        return Answer(texts or [first], content.raw)
    if api == "text":
        _refuse(api, {"system": args.system})
        text = client.models.generate_text(args.model, args.prompt, **options)
        return Answer([c.output for c in text.raw.candidates] or [text.text], text.raw)
    _refuse(api, dict(options, system=args.system))
    message = client.models.generate_message(args.model, args.prompt, **options)
    return Answer([m.content for m in message.raw.candidates] or [message.text], message.raw)


def stream(client: Client, api: Api, args: argparse.Namespace) -> Iterator[tuple[int, str]]:
    """Each candidate's text as it arrives, as (candidate index, piece), in the chosen
    family. Every candidate is streamed, not only the first (--candidate-count)."""
    options = sampling(args)
    if api == "content":
        config = dict(options, system_instruction=args.system) if args.system else options
        for chunk in client.models.stream_generate_content(args.model, args.prompt, config=config):
            for position, candidate in enumerate(chunk.raw.candidates):
                index = candidate.index if candidate.HasField("index") else position
                yield index, _candidate_text(candidate)
    elif api == "text":
        _refuse(api, {"system": args.system})
        for piece in client.models.stream_generate_text(args.model, args.prompt, **options):
            for index, completion in enumerate(piece.raw.candidates):
                yield index, completion.output
    else:
        raise InputError(f"{args.model} answers messages, which do not stream; use `generate`")


def _candidate_text(candidate: Any) -> str:  # noqa: ANN401  (generation_pb2.Candidate)
    parts = candidate.content.parts
    return "".join(p.text for p in parts if p.WhichOneof("data") == "text" and not p.thought)


def _refuse(api: Api, given: dict[str, Any]) -> None:
    unsupported = NOT_FOR_MESSAGES if api == "message" else ("system",)
    used = [name for name in unsupported if given.get(name)]
    if used:
        flags = ", ".join("--" + name.replace("_", "-").removesuffix("-sequences") for name in used)
        raise InputError(f"the {api} API does not take {flags}")
