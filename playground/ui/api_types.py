"""Arguments of the public API endpoints, checked against the handler's own type hints.

`gr.api` takes its schema from a handler's type hints but passes on whatever JSON a caller
sends: a number where text belongs, a dict where a list of ids belongs. `checked` holds every
argument to its hint (str, int, float, bool, lists of those, list[dict], `X | None`) and answers a
wrong one with a message naming the parameter, before any backend sees it. Whole floats (3.0)
pass as ints, as JSON numbers do; NaN and infinities are not numbers anyone meant.
"""

from __future__ import annotations

import functools
import inspect
import math
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from playground.errors import InvalidInput

F = TypeVar("F", bound=Callable[..., Any])
NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false", dict: "an object"}


def _name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return f"a list of {_name(item).removeprefix('a ').removeprefix('an ')}s" if item is not Any else "a list"
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _name(a) for a in typing.get_args(hint))
    return NAMES.get(hint, getattr(hint, "__name__", str(hint)))


class _Mismatch(Exception):
    pass


def coerce(value: Any, hint: Any) -> Any:
    """`value` as `hint`, or `_Mismatch`."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            try:
                return coerce(value, option)
            except _Mismatch:
                continue
        raise _Mismatch
    if hint is type(None):
        if value is None:
            return None
        raise _Mismatch
    if origin is list:
        if not isinstance(value, list):
            raise _Mismatch
        (item,) = typing.get_args(hint) or (Any,)
        return [coerce(v, item) for v in value]
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise _Mismatch
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Mismatch
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            raise _Mismatch
        return int(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise _Mismatch
        return float(value)
    if hint is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    return value


def checked(fn: F) -> F:
    """Wrap an API handler so every argument matches its type hint (see the module docstring)."""
    signature = inspect.signature(fn)
    hints = typing.get_type_hints(fn)

    def bind(*args: Any, **kwargs: Any) -> inspect.BoundArguments:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise InvalidInput(f"Wrong arguments: {exc}.") from None
        for name, value in bound.arguments.items():
            hint = hints.get(name, Any)
            try:
                bound.arguments[name] = coerce(value, hint)
            except _Mismatch:
                got = "null" if value is None else type(value).__name__
                raise InvalidInput(f"`{name}` must be {_name(hint)} (got {got}).") from None
        return bound

    # Gradio streams a generator function's results; the wrapper must stay one, or gradio would
    # send the generator object itself as the answer.
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def stream(*args: Any, **kwargs: Any) -> Any:
            bound = bind(*args, **kwargs)
            yield from fn(*bound.args, **bound.kwargs)

        return stream  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = bind(*args, **kwargs)
        return fn(*bound.args, **bound.kwargs)

    return wrapper  # type: ignore[return-value]
