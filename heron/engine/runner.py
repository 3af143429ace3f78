"""The task-runner seam: where playbook steps run.

The engine hands the runner plain callables whose results it persists itself, so a
step is safe to run again and a distributed runner only has to run callables and hand
back results.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class TaskRunner(Protocol):
    """Runs callables somewhere and hands back futures."""

    def submit(self, function: Callable[..., R], /, *args: object) -> Future[R]: ...

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> list[R]: ...

    def shutdown(self) -> None: ...


class InProcessRunner:
    """Worker threads in this process: the embedded default."""

    def __init__(self, workers: int = 4) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="heron-worker"
        )

    def submit(self, function: Callable[..., R], /, *args: object) -> Future[R]:
        return self._pool.submit(function, *args)

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> list[R]:
        return list(self._pool.map(function, items))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)
