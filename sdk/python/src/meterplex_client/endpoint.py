"""Resources and their operations, declared once for the sync and the async client.

A resource method returns a program (`transport.Program[T]`). The `@operation` and `@endpoint`
descriptors run it with the resource's driver: on a `Resource[Sync]` the bound method returns `T`,
on a `Resource[Async]` it returns `Awaitable[T]` (the overloads below tell the type checker).
`@endpoint` also records which API operation (`method`, `path`) the method serves and its request
and response models: the contract test compares them with the server's OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from meterplex_client.transport import Call, Program, decoded, path_of

if TYPE_CHECKING:
    from meterplex_client.core import ClientCore

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", "Sync", "Async")

API = "/api/v1"


class Sync:
    """Mode marker: methods return their result."""


class Async:
    """Mode marker: methods return an awaitable of their result."""


class Resource(Generic[M]):
    """A group of operations (`mp.entitlements`, `mp.invoices`, …) bound to one client."""

    def __init__(self, core: ClientCore) -> None:
        self._core = core

    def _request(self, call: Call, response_type: Any) -> Program[Any]:
        return decoded(self._core.session, call, response_type)


@dataclass(frozen=True)
class Operation:
    """An API operation: `path` is the SPEC's template (`/api/v1/invoices/{id}`)."""

    method: str
    path: str
    response: Any = None  # the response type (a model, `Page[...]`, a union, or None)
    body: Any = None  # the request model, if the operation takes a JSON body

    def __post_init__(self) -> None:
        if not self.path.startswith(("/api/", "/health")):
            object.__setattr__(self, "path", API + self.path)

    def call(self, args: Args) -> Call:
        return Call(
            self.method,
            path_of(self.path, *args.path),
            params=args.params,
            json=args.json,
            idempotent=args.idempotent,
            authenticated=args.authenticated,
        )


@dataclass(frozen=True)
class Args:
    """What one call of an operation sends: path values (in order), query, body."""

    path: tuple[str, ...] = ()
    params: dict[str, Any] | None = None
    json: Any = None
    idempotent: bool | None = None
    authenticated: bool = True

    @classmethod
    def of(cls, *path: str, params: dict[str, Any] | None = None, json: Any = None, **kw: Any) -> Args:
        return cls(tuple(path), params, json, **kw)


class operation(Generic[P, T]):
    """A resource method that returns a program; runs it with the resource's driver."""

    def __init__(
        self, build: Callable[Concatenate[Any, P], Program[T]], api: Operation | None = None
    ) -> None:
        self._build = build
        self.api = api
        self.__doc__ = build.__doc__
        self.__name__ = build.__name__

    @overload
    def __get__(self, obj: None, owner: type) -> operation[P, T]: ...
    @overload
    def __get__(self, obj: Resource[Sync], owner: type) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: Resource[Async], owner: type) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        build, run = self._build, obj._core.run

        def bound(*args: Any, **kwargs: Any) -> Any:
            return run(build(obj, *args, **kwargs))

        bound.__doc__, bound.__name__ = self.__doc__, self.__name__
        return bound


def program(api: Operation) -> Callable[[Callable[Concatenate[Any, P], Program[T]]], operation[P, T]]:
    """A method with its own program (cache, fail modes, tokens) that serves `api`."""

    def wrap(build: Callable[Concatenate[Any, P], Program[T]]) -> operation[P, T]:
        return operation(build, api)

    return wrap


def endpoint(
    method: str, path: str, *, response: type[T], body: Any = None
) -> Callable[[Callable[Concatenate[Any, P], Args]], operation[P, T]]:
    """A plain API call: the method says what to send (`Args`), the answer is `response`."""
    api = Operation(method, path, response, body)

    def wrap(describe: Callable[Concatenate[Any, P], Args]) -> operation[P, T]:
        def build(resource: Any, /, *args: P.args, **kwargs: P.kwargs) -> Program[T]:
            program: Program[T] = resource._request(
                api.call(describe(resource, *args, **kwargs)), api.response
            )
            return program

        build.__doc__, build.__name__ = describe.__doc__, describe.__name__
        return operation(build, api)

    return wrap


def operations_of(resource_type: type) -> dict[str, Operation]:
    """The API operations a resource class serves, by method name."""
    found: dict[str, Operation] = {}
    for klass in reversed(resource_type.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, operation) and value.api is not None:
                found[name] = value.api
    return found
