"""Which method a call's path names, in which API flavour, and the flavour of the call being served.

A server answers the paths of `textgen.v1` and, for each upstream flavour it serves
(textgen.apis), that flavour's paths for the same methods. `Routes.route(path)` says what
a path is: None for a path of our own (or of a service shared as it is, such as
google.longrunning.Operations); a `Route` to our method for a flavour's path; and a Route
with `offered` False for any other path of a flavour's packages, which the server answers
UNIMPLEMENTED.

PolicyInterceptor gives the policies our method's path, so the journal, faults and
authentication treat a call the same whichever name it came by, and keeps the Route in a
context variable for the call: `current_route()` and `current_api()` read it (operations
record the flavour that created them from there).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextvars import ContextVar
from typing import Any, NamedTuple

from textgen.apis import TEXTGEN, Api
from textgen.server.rpc.aio_types import Context, Handler
from textgen.server.rpc.policy import Single, Streaming, with_behaviour


class Route(NamedTuple):
    """A flavour's path: our method's path for it (the path itself when not offered), the
    flavour's name, and whether this server offers the method."""

    path: str
    method: str
    api: str
    offered: bool = True

    @property
    def service(self) -> str:
        """Our service's full name, such as "textgen.v1.ModelService"."""
        return self.method.split("/")[1]

    def wrap(self, handler: Handler) -> Handler:
        """`handler`, serving each call with this route as the current one."""
        route = self

        def single(behaviour: Single) -> Single:
            async def routed(request: Any, context: Context) -> Any:  # noqa: ANN401
                _ROUTE.set(route)
                return await behaviour(request, context)

            return routed

        def streaming(behaviour: Streaming) -> Streaming:
            async def routed(request: Any, context: Context) -> AsyncIterator[Any]:  # noqa: ANN401
                _ROUTE.set(route)
                async for response in behaviour(request, context):
                    yield response

            return routed

        return with_behaviour(handler, single=single, streaming=streaming)


class Routes:
    """The paths of the upstream flavours `apis`, and the packages they reserve.

    The table of routes is read from the contract's descriptors on the first call by a
    flavour's path, not when a server starts: every such path starts with one of the
    flavours' service names or packages, so a call by any other path (ours) needs no table.
    """

    def __init__(self, apis: Iterable[Api]) -> None:
        self.apis = tuple(apis)
        self._table: dict[str, Route] | None = None
        self._families = tuple(
            (f"/{family}", api.name) for api in self.apis for family in api.families
        )
        # What every path of the table or of a flavour's packages starts with.
        self._prefixes = (
            *(prefix for prefix, _ in self._families),
            *(f"/{name}/" for name in self.services()),
        )

    def route(self, path: str) -> Route | None:
        """The route of a flavour's path; None for a path that is our own."""
        if not path.startswith(self._prefixes):
            return None
        found = self._routes().get(path)
        if found is not None:
            return found
        for prefix, api in self._families:
            if path.startswith(prefix):
                return Route(path, path, api, offered=False)
        return None

    def __len__(self) -> int:
        return len(self._routes())

    def services(self) -> tuple[str, ...]:
        """Every upstream service name served, in table order."""
        return tuple(name for api in self.apis for name in api.upstream_services())

    def _routes(self) -> dict[str, Route]:
        if self._table is None:
            self._table = {
                method.path: Route(method.path, method.canonical, api.name)
                for api in self.apis
                for method in api.methods()
                if method.path != method.canonical
            }
        return self._table


_ROUTE: ContextVar[Route | None] = ContextVar("textgen_route", default=None)


def current_route() -> Route | None:
    """The route of the call being served when it came by a flavour's path, else None."""
    return _ROUTE.get()


def current_api() -> str:
    """The flavour of the call being served ("textgen" for our own paths)."""
    route = _ROUTE.get()
    return TEXTGEN if route is None else route.api
