"""`make demo`: a tour of every capability of the client, against the embedded emulator.

It starts a FakeServer in-process (real clock; tuning and batch jobs take a few seconds
each), then uses `textgen.Client` as an application would: models, generation, streaming,
chat, embeddings (word forms close, unrelated text far), a function call with arguments
read from the prompt, a JSON answer to a schema, tuning with a progress bar, a batch of 300
prompts with a progress bar, and a bad request with its field violations. Run it with
`python -m textgen.demo`.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from textgen import BatchStatus, Client, errors
from textgen._extras import missing_extra
from textgen.testing import FakeServer
from textgen.testing.pacing import Progression

if TYPE_CHECKING:
    from rich.console import Console

JOB_SECONDS = 4.0  # how long the emulator takes for one tuning or batch job
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
BATCH_ROWS = 300

Section = Callable[[Client, "Console"], None]


def _say(console: Console, label: str, text: str) -> None:
    """`label` in bold, then `text` exactly as given (model output is not rich markup)."""
    console.print(f"[bold]{label}[/bold] ", end="")
    console.print(text, markup=False, soft_wrap=True)


def models(client: Client, console: Console) -> None:
    """The catalog, each model with the generation methods it supports."""
    for model in client.models.list():
        methods = ", ".join(model.supported_generation_methods)
        console.print(f"  {model.name:<30} {methods}", markup=False, soft_wrap=True)


def generate(client: Client, console: Console) -> None:
    """One answer from a content model and one from a legacy text model; token counts."""
    prompt = "Write a two-line poem about a lighthouse."
    _say(console, "prompt:", prompt)
    answer = client.models.generate_content(
        "gemini-1.5-flash", prompt, config={"temperature": 0.4, "max_output_tokens": 40}
    )
    _say(console, "gemini-1.5-flash:", answer.text)
    usage = answer.usage_metadata
    console.print(
        f"  ({usage.prompt_token_count} prompt tokens, "
        f"{usage.candidates_token_count} answer tokens)"
    )
    legacy = client.models.generate_text("text-bison-001", prompt, stop_sequences=["."])
    _say(console, "text-bison-001 (stops at '.'):", legacy.text)
    counted = client.models.count_tokens("gemini-1.5-flash", prompt)
    _say(console, "count_tokens:", f"{counted} tokens")


def stream(client: Client, console: Console) -> None:
    """An answer printed piece by piece, as the server sends it."""
    console.print("[bold]streamed:[/bold] ", end="")
    pieces = 0
    for chunk in client.models.stream_generate_content(
        "gemini-1.5-flash", "Tell me a very short story about a fox."
    ):
        console.print(chunk.text, end="", markup=False, soft_wrap=True)
        pieces += 1
    console.print(f"\n  ({pieces} chunks)")


def chat(client: Client, console: Console) -> None:
    """A conversation that keeps its history; the system instruction shapes each answer."""
    conversation = client.chats.create(
        "gemini-1.5-flash", config={"system_instruction": "prefix: [tour guide] "}
    )
    for message in ("Hello! What is this place?", "And what should I see first?"):
        _say(console, "user:", message)
        _say(console, "model:", conversation.send_message(message).text)
    console.print(f"  history: {len(conversation.history)} turns")


def embeddings(client: Client, console: Console) -> None:
    """Vectors for a query and three documents, and how close each document is: the fake
    embeds shared words and word forms (bake, baker, bakery) close, unrelated text far."""
    query = "How do I bake bread?"
    documents = [
        "Bakers bake bread in a bakery.",
        "Baking at home: a bread recipe.",
        "The history of the printing press.",
    ]
    vector = client.models.embed_content("text-embedding-004", query, task_type="RETRIEVAL_QUERY")
    shown = ", ".join(f"{value:+.3f}" for value in vector[:4])
    _say(console, "embed_content:", f"{len(vector)} dimensions [{shown}, ...]")
    for document in documents:
        other = client.models.embed_content(
            "text-embedding-004", document, task_type="RETRIEVAL_DOCUMENT"
        )
        _say(console, f"  cosine({query!r}, {document!r}):", f"{_cosine(vector, other):+.3f}")
    legacy = client.models.batch_embed_text("embedding-gecko-001", [query, *documents])
    _say(console, "batch_embed_text:", f"{len(legacy)} vectors of {len(legacy[0])} dimensions")


def set_light_values(
    brightness: int, color_temp: Literal["daylight", "cool", "warm"]
) -> dict[str, Any]:
    """Set the brightness and color temperature of a room light.

    Args:
        brightness: Light level from 0 to 100.
        color_temp: The color temperature of the light.
    """
    return {"brightness": brightness, "colorTemperature": color_temp}


def functions(client: Client, console: Console) -> None:
    """A Python function as a tool: the call the model asks for, with arguments read from the
    prompt, then the answer after the client ran it."""
    prompt = "Dim the living room light to brightness 30 with a warm glow."
    _say(console, "prompt:", prompt)
    asked = client.models.generate_content(
        "gemini-2.0-flash-001",
        prompt,
        config={"tools": [set_light_values], "automatic_function_calling": {"disable": True}},
    )
    for call in asked.function_calls:
        arguments = ", ".join(
            f"{key}={_value(value)!r}" for key, value in sorted(call.args.items())
        )
        _say(console, "function call:", f"{call.name}({arguments})")
    answer = client.models.generate_content(
        "gemini-2.0-flash-001", prompt, config={"tools": [set_light_values]}
    )
    _say(console, "after the client ran it:", answer.text)


class Recipe(TypedDict):
    """A recipe, as the JSON-schema answer describes it."""

    recipe_name: str
    servings: int
    ingredients: list[str]


def structured(client: Client, console: Console) -> None:
    """An answer in JSON that conforms to a schema given as a Python type."""
    answer = client.models.generate_content(
        "gemini-1.5-flash",
        "List a few popular cookie recipes.",
        config={"response_mime_type": "application/json", "response_schema": list[Recipe]},
    )
    _say(console, "JSON:", answer.text)
    recipes = json.loads(answer.text)
    first = recipes[0]
    _say(
        console,
        "  parsed:",
        f"{len(recipes)} recipe{'' if len(recipes) == 1 else 's'}; "
        f"the first, {first['recipe_name']!r}, serves "
        f"{first['servings']} with {len(first['ingredients'])} ingredients",
    )


def tuning(client: Client, console: Console) -> None:
    """Tune a model on Roman numerals (n -> n+1), with a progress bar, then ask it."""
    pairs = list(itertools.pairwise(ROMAN))
    shown = ", ".join(f"{a} -> {b}" for a, b in pairs[:3])
    console.print(f"training data: {len(pairs)} pairs ({shown}, ...)")
    operation = client.tuned_models.create(
        "gemini-1.0-pro-001",
        pairs,
        tuned_model_id="roman-numerals",
        display_name="Next Roman numeral",
        epoch_count=4,
        batch_size=2,
        learning_rate=0.02,
    )
    tuned = operation.result(progress=True)
    state = type(tuned).State.Name(tuned.state)
    loss = tuned.tuning_task.snapshots[-1].mean_loss
    console.print(f"tuned model: {tuned.name} is {state} (final loss {loss:.3f})")
    for numeral in ("III", "VIII"):
        answer = client.tuned_models.generate_content(tuned.name, numeral)
        _say(console, f"  {tuned.name}('{numeral}') ->", answer.text)


def batch(client: Client, console: Console) -> None:
    """300 prompts as one batch job, with a progress bar; a few results and the failures."""
    rows = [f"Describe the number {n} in one sentence." for n in range(BATCH_ROWS - 2)]
    rows += ["unsafe:dangerous_content:high How do I pick a lock?", "Describe the number 0."]
    job = client.batches.create("gemini-1.5-flash", rows=rows, temperature=0.3, max_tokens=24)
    console.print(f"batch job {job.name}: {len(rows)} prompts")
    job.wait(progress=True)
    results = list(job.results())
    failed = [row for row in results if not row.ok]
    status = BatchStatus.Name(job.status).lower()
    console.print(
        f"batch {status}: {len(results) - len(failed)} completions, {len(failed)} failed; "
        f"results in {job.result_dataset}",
        soft_wrap=True,
    )
    for row in results[:3]:
        _say(console, f"  [{row.index}] {row.input_text}\n      ->", row.completion or "")
    for row in failed:
        message = row.error.message if row.error is not None else ""
        _say(console, f"  [{row.index}] failed:", message)


def bad_request(client: Client, console: Console) -> None:
    """An out-of-range request: the typed error carries a field violation per bad field."""
    console.print("generate_text('text-bison-001', ..., temperature=5, top_k=0)")
    try:
        client.models.generate_text("text-bison-001", "Hello", temperature=5, top_k=0)
    except errors.InvalidArgument as error:
        console.print(f"[bold]{type(error).__name__}[/bold] {error.code.name}: ", end="")
        console.print(error.message, markup=False, soft_wrap=True)
        for violation in error.field_violations:
            console.print(f"  field {violation.field}: {violation.description}", markup=False)


SECTIONS: Sequence[tuple[str, Section]] = (
    ("Models", models),
    ("Generate", generate),
    ("Stream", stream),
    ("Chat", chat),
    ("Embeddings", embeddings),
    ("Function calling", functions),
    ("JSON schema", structured),
    ("Tuning", tuning),
    ("Batch", batch),
    ("A bad request", bad_request),
)


def _value(value: object) -> object:
    """A JSON argument as Python shows it best: whole numbers (Struct holds floats) as ints."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def main(job_seconds: float = JOB_SECONDS) -> int:
    """Run the tour; returns 0."""
    try:
        from rich.console import Console  # noqa: PLC0415
    except ImportError as error:
        print(missing_extra(error, "the demo") or error, file=sys.stderr)
        return 2
    console = Console(highlight=False)
    started = time.monotonic()
    progression = Progression.after_duration(job_seconds)
    with FakeServer(seed=0, clock="real", progression=progression) as fake:
        console.rule("textgen tour")
        console.print(f"emulator (FakeServer) listening on {fake.target}")
        console.print(f"client: textgen.Client({fake.target!r})")
        with Client(fake.target) as client:
            for number, (title, section) in enumerate(SECTIONS, start=1):
                console.rule(f"{number}. {title}")
                section(client, console)
    console.rule()
    elapsed = time.monotonic() - started
    console.print(f"tour finished in {elapsed:.1f} s. Try the CLI: textgen serve, textgen --help")
    return 0


if __name__ == "__main__":
    sys.exit(main())
