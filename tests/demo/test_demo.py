"""`make demo` end to end: the tour runs in-process and shows every capability."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from textgen import demo
from textgen.progress import Progress, RichProgressRenderer


def test_demo_tour(capsys: pytest.CaptureFixture[str]) -> None:
    # Shorter jobs than `make demo`, so the suite stays quick; the tour is otherwise the same.
    assert demo.main(job_seconds=1.0) == 0
    out = capsys.readouterr().out
    for title in (
        "Models", "Generate", "Stream", "Chat", "Embeddings", "Function calling",
        "JSON schema", "Tuning", "Batch",
    ):  # fmt: skip
        assert title in out
    # Similarity means something: word forms are closer than unrelated text.
    near = _cosine(out, "Bakers bake bread in a bakery.")
    far = _cosine(out, "The history of the printing press.")
    assert near > 0.3 > 0.1 > far
    # A function call with arguments read from the prompt, then the client runs it.
    assert "function call: set_light_values(brightness=30, color_temp='warm')" in out
    assert "set_light_values returned brightness 30, colorTemperature warm." in out
    # A JSON answer to the schema, parsed.
    (line,) = [line for line in out.splitlines() if line.startswith("JSON: ")]
    recipes = json.loads(line.removeprefix("JSON: "))
    assert recipes and set(recipes[0]) == {"recipe_name", "servings", "ingredients"}
    assert "tunedModels/roman-numerals('III') -> IV" in out
    assert "tunedModels/roman-numerals is ACTIVE" in out
    assert "batch completed: 299 completions, 1 failed" in out
    assert "InvalidArgument INVALID_ARGUMENT" in out
    assert "  field temperature: must be between 0 and 1" in out
    assert "tour finished in" in out
    # Off a terminal each progress bar is printed once, finished, not redrawn line by line.
    assert out.count("24/24") == 1
    assert out.count("15/15") == 1
    assert "Traceback" not in out


def _cosine(out: str, document: str) -> float:
    (line,) = [line for line in out.splitlines() if f"{document!r}):" in line]
    return float(line.rsplit(" ", 1)[1])


def test_a_long_operation_name_leaves_the_bar_its_room() -> None:
    # progress=True titles the bar with the operation's name; the bar keeps two thirds of
    # the width the counts leave, and the name is shortened instead.
    renderer = RichProgressRenderer("tunedModels/roman-numerals/operations/m0cq65zt4wn6")
    renderer.update(Progress(12.0, 24.0, "steps"))
    renderer.close()
    written = io.StringIO()
    Console(file=written, width=80).print(renderer._bar.make_tasks_table(renderer._bar.tasks))
    line = written.getvalue().rstrip("\n")
    assert len(line) <= 80 and line.endswith("12/24 0:00:00")
    bar = line[line.index("━") : line.rindex("12/24")]  # the bar column, half drawn
    assert len(bar) >= 30
    assert line.startswith("tunedModels/") and "…" in line
