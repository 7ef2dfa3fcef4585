"""A value that lives for one block of a worker's batch (a context variable), shared by nested blocks."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


@contextmanager
def scoped_value(
    var: contextvars.ContextVar, make: Callable[[], T], *, after: Callable[[T], None] | None = None
) -> Iterator[T | None]:
    """Set `var` to `make()` for the block unless an outer block already has: nested blocks share the
    outermost one's value. Yields the value when this block owns it, else None. `after(value)` runs when
    the owning block ends (even by an exception), once `var` is reset, so what it triggers is outside."""
    if var.get() is not None:
        yield None
        return
    value = make()
    token = var.set(value)
    try:
        yield value
    finally:
        var.reset(token)
        if after is not None:
            after(value)
