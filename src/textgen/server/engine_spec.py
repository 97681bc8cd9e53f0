"""Load an engine from a `module:factory` spec, as `textgen serve --engine` does.

The module is imported (the current directory is searched first, as `python -m` would),
`factory` is looked up in it (a dotted path such as `Engines.local` works too) and called
with no arguments; what it returns is served. Every way this can go wrong raises
`EngineSpecError`, whose message is one line fit to print.
"""

from __future__ import annotations

import importlib
import os
import sys

from textgen.server.engine import Engine

# What an object must have to be served as an engine (the Engine protocol's methods).
ENGINE_METHODS = (
    "models",
    "embedding_dimension",
    "count_tokens",
    "rate",
    "generate",
    "stream",
    "embed",
    "tune",
)


class EngineSpecError(Exception):
    """The spec is malformed, or its module, its factory or the engine it made failed."""


def load_engine(spec: str) -> Engine:
    """The engine `module:factory` makes; EngineSpecError with a one-line reason otherwise."""
    module_name, sep, factory_path = spec.partition(":")
    if not sep or not module_name or not factory_path:
        raise EngineSpecError(f"--engine expects MODULE:FACTORY, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found: object = importlib.import_module(module_name)
    except Exception as error:
        raise EngineSpecError(f"cannot import {module_name!r}: {_describe(error)}") from error
    for attribute in factory_path.split("."):
        try:
            found = getattr(found, attribute)
        except AttributeError:
            raise EngineSpecError(f"{module_name!r} has no {factory_path!r}") from None
    if not callable(found):
        raise EngineSpecError(f"{spec} is not callable")
    try:
        engine = found()
    except Exception as error:
        raise EngineSpecError(f"{spec}() failed: {_describe(error)}") from error
    missing = [name for name in ENGINE_METHODS if not callable(getattr(engine, name, None))]
    if missing:
        kind = type(engine).__name__
        raise EngineSpecError(
            f"{spec}() returned a {kind}, not an engine (no {', '.join(missing)})"
        )
    try:
        models = list(engine.models())
    except Exception as error:
        raise EngineSpecError(f"the engine's models() failed: {_describe(error)}") from error
    if not models:
        raise EngineSpecError("the engine serves no models (models() is empty)")
    return engine  # type: ignore[no-any-return]  # checked above, method by method


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
