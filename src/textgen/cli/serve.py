"""`textgen serve`: the emulator, the real servicers over a FakeEngine for clients in any language.

It serves every textgen.v1 service plus google.longrunning.Operations, and the same methods
under the upstream APIs' names (`--api` picks which flavours: repeat it to serve several, or
give `--api yandex` alone), gRPC health checking and server reflection, prints one parseable
line once it listens::

    textgen emulator listening on 127.0.0.1:50051

and stops gracefully on SIGTERM or SIGINT, exiting 0. An address it cannot listen on, or a
missing `server` extra, is one line on stderr and exit status 2. A reader that goes away (a
closed stdout or stderr pipe) does not keep it from stopping.

`--engine module:factory` serves a real engine instead of the fake: the factory is called
with no arguments on the server's event loop (see textgen.server.engine_spec). Such a server
does not pace its jobs unless `--progression` asks for it; the fake engine's jobs take
`--job-seconds` by default, as an emulator's do. A spec that cannot be loaded, or a factory
that fails, is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from typing import TYPE_CHECKING, TextIO

from textgen.cli import HelpFormatter

if TYPE_CHECKING:
    from textgen.cli import Subparsers
    from textgen.server.lro.pacing import Pacer
    from textgen.server.quotas import StorageLimits
    from textgen.server.state import ServerState

# Printed after LISTENING when --http-port is given, with the HTTP base URL.
HTTP_LISTENING = "textgen emulator serving HTTP/JSON on"
LISTENING = "textgen emulator listening on"
PROGRESSIONS = ("immediate", "duration", "polls")
# The flavours of textgen.apis, spelled out so that `textgen --help` does not import it.
_API_NAMES = ("textgen", "generativelanguage", "yandex")


def register(subparsers: Subparsers) -> None:
    """Add `serve` and its options."""
    parser = subparsers.add_parser(
        "serve",
        help="run the emulator (a local textgen.v1 server)",
        description="Run every textgen.v1 service over a deterministic fake engine.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=50051,
        help="port to bind; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--http-port",
        type=int,
        default=None,
        metavar="PORT",
        help="also serve HTTP/JSON (the contract's http rules, for google-genai and curl) on "
        "this port; 0 picks a free one. Needs the `http` extra (default: gRPC only)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed for ids and the engine, to reproduce a run (default: the engine uses 0 and "
        "ids are random, so names never repeat across restarts)",
    )
    parser.add_argument(
        "--api-key",
        dest="api_keys",
        action="append",
        type=_api_key,
        default=[],
        metavar="KEY=PRINCIPAL",
        help="accept this API key as this principal; repeatable. Without any, no key is needed",
    )
    parser.add_argument(
        "--engine",
        metavar="MODULE:FACTORY",
        help="serve the engine that FACTORY() in MODULE returns instead of the fake engine "
        "(the current directory is searched first)",
    )
    parser.add_argument(
        "--progression",
        choices=PROGRESSIONS,
        default=None,
        help="how tuning and batch jobs advance: at once, over --job-seconds, or per poll "
        "(default: duration for the fake engine; with --engine, as fast as they run)",
    )
    parser.add_argument(
        "--job-seconds",
        type=float,
        default=3.0,
        help="seconds one job takes with --progression duration (default: %(default)s)",
    )
    parser.add_argument(
        "--api",
        dest="apis",
        action="append",
        choices=_API_NAMES,
        default=None,
        metavar="API",
        help="serve this API flavour's names (textgen, generativelanguage or yandex); "
        "repeatable. Default: all of them",
    )
    parser.add_argument(
        "--store",
        default="memory:",
        metavar="URL",
        help="where tuned models, datasets and operations live: memory: (default; lost on "
        "exit), sqlite:///path/to/file.db, or postgresql://user@host:port/db (several "
        "replicas; the `postgres` extra). See README, Running it for real",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=5.0,
        help="seconds to finish calls on shutdown (default: %(default)s)",
    )
    _add_limits(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or SIGINT."""
    return asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    # Imported here so that `textgen --help` and other commands do not load the server.
    from textgen.server.address import AddressUnavailableError, format_address  # noqa: PLC0415
    from textgen.server.app import serve  # noqa: PLC0415
    from textgen.server.engine import Engine  # noqa: PLC0415
    from textgen.server.lro.operations import Operations  # noqa: PLC0415
    from textgen.server.state import IdGenerator, ServerState  # noqa: PLC0415

    engine: Engine
    if args.engine is None:
        from textgen.testing.fake_engine.engine import FakeEngine  # noqa: PLC0415

        engine = FakeEngine(seed=args.seed or 0)
    else:
        from textgen.server.engine_spec import EngineSpecError, load_engine  # noqa: PLC0415

        try:
            engine = load_engine(args.engine)
        except EngineSpecError as error:
            _say(f"textgen serve: {error}", sys.stderr)
            return 2
    from textgen.server.storage.backends import open_backend  # noqa: PLC0415

    try:
        backend = await open_backend(args.store)
    except Exception as error:  # a bad URL, a missing extra, an unreachable database
        _say(f"textgen serve: cannot open --store {args.store}: {error}", sys.stderr)
        return 2
    state = ServerState(
        engine=engine,
        stores=backend.stores,
        ids=IdGenerator(args.seed),
        api_keys=dict(args.api_keys),
        limits=_limits(args),
    )
    progression = args.progression or ("duration" if args.engine is None else None)
    pacer = _pacer(progression, args.job_seconds, state)
    operations = Operations(state.clock, state.stores.operations, pacer=pacer)
    try:
        running = await serve(
            state,
            operations=operations,
            host=args.host,
            port=args.port,
            apis=args.apis or _API_NAMES,
            http_port=args.http_port,
            store=backend,
        )
    except AddressUnavailableError as error:
        _say(f"textgen serve: {error}", sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        _say(f"{LISTENING} {format_address(args.host, running.port)}", sys.stdout)
        if running.http is not None:
            url = f"http://{format_address(args.host, running.http.port)}"
            _say(f"{HTTP_LISTENING} {url}", sys.stdout)
        await stop.wait()
        _say("textgen emulator stopping", sys.stderr)
    finally:
        await running.stop(args.grace)
        close = getattr(engine, "close", None)  # a BlockingEngine ends its worker threads
        if callable(close):
            close()
    return 0


def _say(line: str, stream: TextIO) -> None:
    """Print a status line. If its reader has gone, later writes go to /dev/null instead."""
    try:
        print(line, file=stream, flush=True)
    except (BrokenPipeError, ValueError):  # ValueError: the stream was closed
        with open(os.devnull, "w") as devnull, contextlib.suppress(OSError, ValueError):
            os.dup2(devnull.fileno(), stream.fileno())


def _pacer(mode: str | None, job_seconds: float, state: ServerState) -> Pacer:
    # No mode: production pacing (none). Otherwise the emulator's test pacer.
    from textgen.server.lro.pacing import NoPacing  # noqa: PLC0415
    from textgen.testing.pacing import Progression, ProgressionPacer  # noqa: PLC0415

    if mode is None:
        return NoPacing()
    if mode == "immediate":
        progression = Progression.immediate()
    elif mode == "polls":
        progression = Progression.after_polls()
    else:
        progression = Progression.after_duration(job_seconds)
    return ProgressionPacer(state.clock, progression)


def _api_key(text: str) -> tuple[str, str]:
    key, sep, principal = text.partition("=")
    if not sep or not key or not principal:
        raise argparse.ArgumentTypeError(f"expected KEY=PRINCIPAL, got {text!r}")
    return key, principal


# The storage limits (textgen.server.quotas.StorageLimits): option, field, type, what it is.
_LIMITS = (
    ("--max-dataset-rows", "dataset_rows", int, "rows one dataset may hold"),
    ("--max-dataset-bytes", "dataset_bytes", int, "encoded bytes of rows one dataset may hold"),
    ("--max-row-bytes", "row_bytes", int, "encoded bytes of one uploaded row"),
    ("--max-resources", "resources_per_principal", int, "datasets and tuned models per key"),
    ("--operation-retention", "operation_retention", float, "seconds a finished operation is kept"),
    ("--request-id-seconds", "request_id_seconds", float, "seconds a create's request_id is kept"),
)


def _add_limits(parser: argparse.ArgumentParser) -> None:
    # Each limit's default is StorageLimits' own (docs/limits.md), shown without importing it.
    for option, _, kind, what in _LIMITS:
        parser.add_argument(option, type=kind, default=None, help=f"{what} (see docs/limits.md)")


def _limits(args: argparse.Namespace) -> StorageLimits:
    from textgen.server.quotas import StorageLimits  # noqa: PLC0415

    given = {field: getattr(args, field_option(option)) for option, field, _, _ in _LIMITS}
    return StorageLimits(**{field: value for field, value in given.items() if value is not None})


def field_option(option: str) -> str:
    """The argparse destination of an option: `--max-row-bytes` -> `max_row_bytes`."""
    return option.removeprefix("--").replace("-", "_")
