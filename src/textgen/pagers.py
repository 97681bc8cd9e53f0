"""Pagers: iterate every item of a list call, fetching pages lazily as the loop goes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Generic, TypeVar

from textgen._calls import Call, Page, Paged
from textgen._shells import AsyncRunner, SyncRunner

T = TypeVar("T")

__all__ = ["AsyncPager", "Page", "Pager"]


class Pager(Generic[T]):
    """`for item in pager` walks every page; `pager.pages()` yields the pages themselves."""

    def __init__(self, runner: SyncRunner, plan: Paged[T]) -> None:
        self._runner = runner
        self._plan = plan

    def pages(self) -> Iterator[Page[T]]:
        """Each page in turn, fetched when the loop reaches it."""
        c: Call[Page[T]] | None = self._plan.first
        while c is not None:
            page = self._runner.run(c)
            yield page
            c = self._plan.next(page.next_page_token) if page.next_page_token else None

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items


class AsyncPager(Generic[T]):
    """`async for item in pager` walks every page; no await is needed to get the pager."""

    def __init__(self, runner: AsyncRunner, plan: Paged[T]) -> None:
        self._runner = runner
        self._plan = plan

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Each page in turn, fetched when the loop reaches it."""
        c: Call[Page[T]] | None = self._plan.first
        while c is not None:
            page = await self._runner.run(c)
            yield page
            c = self._plan.next(page.next_page_token) if page.next_page_token else None

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item
