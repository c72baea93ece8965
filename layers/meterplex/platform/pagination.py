"""The list envelope of SPEC §0: `{"data": [...], "meta": {total, page, limit, totalPages}}`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

PageNumber = Annotated[int, Field(ge=1, le=1_000_000, description="1-based page number")]
PageLimit = Annotated[int, Field(ge=1, le=100, description="Items per page (1–100)")]

DEFAULT_LIMIT = 20


class PageMeta(BaseModel):
    total: int
    page: int
    limit: int
    totalPages: int


class Page(BaseModel, Generic[T]):
    data: list[T]
    meta: PageMeta


def paginate(items: Sequence[Any], page: int, limit: int) -> dict[str, Any]:
    """Slice an already-ordered, bounded collection into the list envelope."""
    total = len(items)
    start = (page - 1) * limit
    return {
        "data": list(items[start : start + limit]),
        "meta": {"total": total, "page": page, "limit": limit, "totalPages": -(-total // limit)},
    }
