"""Base classes of the SDK's models: camelCase on the wire, snake_case in Python."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

T = TypeVar("T")


class Model(BaseModel):
    """An answer of the API. Fields the server adds later are kept (`extra="allow"`), not refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    # Fields the SDK adds that the server never sends (the contract test skips them).
    CLIENT_FIELDS: ClassVar[frozenset[str]] = frozenset()

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


class Body(BaseModel):
    """A request body: camelCase, and no field the API does not know (the API refuses those)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class PageMeta(Model):
    """Offset pages carry total/page/totalPages; cursor pages carry nextCursor (None at the end)."""

    limit: int | None = None
    total: int | None = None
    page: int | None = None
    total_pages: int | None = None
    next_cursor: str | None = None


class Page(Model, Generic[T]):
    data: list[T]
    meta: PageMeta


class Message(Model):
    message: str
