"""Routes: a flavour's path names our method; PolicyInterceptor gives the policies that name,
runs the call with its route current, and keeps nothing for paths the server does not offer."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from tests.server.rpc.test_policy import answers, details, handlers
from textgen import apis
from textgen.server.rpc.aio_types import Context, Handler
from textgen.server.rpc.policy import PolicyInterceptor, Single, with_behaviour
from textgen.server.rpc.routing import Route, Routes, current_api, current_route

GL = "/google.ai.generativelanguage.v1beta"
ROUTES = Routes(apis.UPSTREAM)


def test_a_flavour_path_routes_to_our_method() -> None:
    route = ROUTES.route(f"{GL}.TextService/GenerateText")
    assert route == Route(
        f"{GL}.TextService/GenerateText",
        "/textgen.v1.ModelService/GenerateText",
        "generativelanguage",
    )
    assert route.service == "textgen.v1.ModelService"
    tuning = ROUTES.route(f"{GL}.ModelService/CreateTunedModel")
    assert tuning is not None and tuning.method == "/textgen.v1.TunedModelService/CreateTunedModel"


def test_our_own_and_shared_paths_have_no_route() -> None:
    assert ROUTES.route("/textgen.v1.ModelService/GenerateText") is None
    assert ROUTES.route("/google.longrunning.Operations/GetOperation") is None
    assert ROUTES.route("/grpc.health.v1.Health/Check") is None


def test_other_paths_of_the_flavour_packages_are_not_offered() -> None:
    for path in (
        f"{GL}.GenerativeService/GenerateAnswer",
        f"{GL}.CacheService/ListCachedContents",
        "/google.ai.generativelanguage.v1.GenerativeService/GenerateContent",
    ):
        route = ROUTES.route(path)
        assert route == Route(path, path, "generativelanguage", offered=False)


def test_the_served_service_names() -> None:
    assert ROUTES.services() == (
        *(
            f"{GL[1:]}.{name}"
            for name in ("GenerativeService", "TextService", "DiscussService", "ModelService")
        ),
        "yandex.cloud.ai.foundation_models.v1.TextGenerationBatchService",
        "yandex.cloud.operation.OperationService",
        "yandex.cloud.ai.batch_inference.v1.BatchInferenceService",
    )
    # Yandex: Completion, Get, Cancel, and BatchInferenceService's Describe, List, Cancel, Delete.
    assert len(ROUTES) == 18 + 3 + 4


async def served(handler: Handler | None) -> list[Any]:
    """The answers to one call, in a task of its own as a server runs each call."""
    assert handler is not None
    return await asyncio.create_task(answers(handler, "hi"))


class Recorder:
    """A policy that records the method name it is given and what each call sees."""

    def __init__(self) -> None:
        self.methods: list[str] = []
        self.seen: list[tuple[Route | None, str]] = []

    def wrap(self, method: str, handler: Handler) -> Handler:
        self.methods.append(method)

        def single(behaviour: Single) -> Single:
            async def recording(request: Any, context: Context) -> Any:
                self.seen.append((current_route(), current_api()))
                return await behaviour(request, context)

            return recording

        return with_behaviour(handler, single=single)


async def test_policies_see_our_method_and_the_call_its_route() -> None:
    recorder = Recorder()
    interceptor = PolicyInterceptor([recorder], ROUTES)
    handler = handlers()["unary_unary"]

    async def continuation(_: grpc.HandlerCallDetails) -> Handler:
        return handler

    path = f"{GL}.DiscussService/GenerateMessage"
    wrapped = await interceptor.intercept_service(continuation, details(path))
    assert await served(wrapped) == ["hi"]
    assert recorder.methods == ["/textgen.v1.ModelService/GenerateMessage"]
    assert recorder.seen == [(ROUTES.route(path), "generativelanguage")]

    own = await interceptor.intercept_service(
        continuation, details("/textgen.v1.ModelService/GenerateMessage")
    )
    recorder.seen.clear()
    await served(own)
    assert recorder.seen == [(None, "textgen")]
    assert interceptor.cached == 2


async def test_paths_not_offered_are_wrapped_per_call_and_not_kept() -> None:
    recorder = Recorder()
    interceptor = PolicyInterceptor([recorder], ROUTES)

    async def continuation(_: grpc.HandlerCallDetails) -> Handler:
        return handlers()["unary_unary"]  # a new handler per call, as for a refusal

    for number in range(200):
        path = f"{GL}.GenerativeService/Junk{number}"
        wrapped = await interceptor.intercept_service(continuation, details(path))
        assert wrapped is not None
    assert interceptor.cached == 0
    assert recorder.methods[-1] == f"{GL}.GenerativeService/Junk199"
