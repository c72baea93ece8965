"""The list envelopes of SPEC §0.

* Bounded lists (catalog, a tenant's subscriptions): `paginate` slices them by page number,
  `{"data": [...], "meta": {total, page, limit, totalPages}}`.
* Lists that grow without bound (invoices, ledger, payments, audit, deliveries, dead letters) are
  paged by cursor: `?cursor=&limit=` → `{"data": [...], "meta": {"nextCursor": str | null,
  "limit": n, "page": n | null}}`. A cursor is opaque to clients: base64url of the last key read
  (only the key attributes the repository names, never a table name), so a page costs what it
  returns. `page` stays accepted for the original's clients; page N is reached by reading the
  N − 1 pages before it (cost proportional to page × limit, said in the route's docs), and its
  answer carries a `nextCursor` too, so a client can switch to cursors at any time.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, Field

from meterplex.platform.errors import InvalidInput

T = TypeVar("T")

PageNumber = Annotated[int, Field(ge=1, le=1_000_000, description="1-based page number")]
PageLimit = Annotated[int, Field(ge=1, le=100, description="Items per page (1–100)")]
Cursor = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1024,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Opaque: `meta.nextCursor` of the previous page (omit for the first page)",
    ),
]

DEFAULT_LIMIT = 20
Key = dict[str, str]
# (exclusive start key or None, how many) → (items in order, the last key read or None at the end)
Fetch = Callable[[Key | None, int], tuple[list[T], Key | None]]


class PageMeta(BaseModel):
    total: int
    page: int
    limit: int
    totalPages: int


class Page(BaseModel, Generic[T]):
    data: list[T]
    meta: PageMeta


class CursorMeta(BaseModel):
    limit: int
    nextCursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end")
    page: int | None = Field(None, description="The page number, when the page was asked for by number")


def paginate(items: Sequence[Any], page: int, limit: int) -> dict[str, Any]:
    """Slice an already-ordered, bounded collection into the list envelope."""
    total = len(items)
    start = (page - 1) * limit
    return {
        "data": list(items[start : start + limit]),
        "meta": {"total": total, "page": page, "limit": limit, "totalPages": -(-total // limit)},
    }


def encode_cursor(key: Mapping[str, str]) -> str:
    raw = json.dumps(dict(key), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def invalid_cursor() -> InvalidInput:
    return InvalidInput("The cursor is not one this list returned", code="INVALID_CURSOR")


def decode_cursor(cursor: str, fields: Collection[str]) -> Key:
    """The key a cursor carries; 400 INVALID_CURSOR unless it is exactly `fields`, all strings."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise invalid_cursor() from error
    if (
        not isinstance(raw, dict)
        or set(raw) != set(fields)
        or not all(isinstance(v, str) and 0 < len(v) <= 1024 for v in raw.values())
    ):
        raise invalid_cursor()
    return raw


def cursor_page(
    fetch: Fetch[T], *, limit: int, start: Key | None = None, page: int | None = None
) -> tuple[list[T], Key | None]:
    """One page: from `start` (a decoded cursor), or page number `page` (pages before it are read
    and dropped), or the first. Returns the items and the key to continue from (None at the end)."""
    if start is None and page is not None and page > 1:
        to_skip = (page - 1) * limit
        while to_skip > 0:
            skipped, start = fetch(start, to_skip)
            to_skip -= len(skipped)
            if start is None:
                return [], None
    items: list[T] = []
    while len(items) < limit:
        more, start = fetch(start, limit - len(items))
        items += more
        if start is None:
            break
    return items, start


def cursor_meta(limit: int, last: Key | None, page: int | None = None) -> CursorMeta:
    return CursorMeta(limit=limit, nextCursor=encode_cursor(last) if last else None, page=page)


def page_of(
    fetch: Fetch[T], *, cursor: str | None, limit: int, page: int | None, fields: Collection[str] = ("sk",)
) -> tuple[list[T], CursorMeta]:
    """A route's page: by `cursor` when given (then `page` is ignored), else by `page`, else the first."""
    start = decode_cursor(cursor, fields) if cursor else None
    number = None if cursor else page
    items, last = cursor_page(fetch, limit=limit, start=start, page=number)
    return items, cursor_meta(limit, last, number)


# -- a page of one partition, ordered by sort key (the usual case) --------------------------------
def exclusive_start(pk: str, start: Key | None, sk_prefix: str) -> dict[str, Any] | None:
    """The ExclusiveStartKey of a decoded `{"sk": …}` cursor, inside partition `pk` only."""
    if start is None:
        return None
    if not start["sk"].startswith(sk_prefix):
        raise invalid_cursor()
    return {"pk": {"S": pk}, "sk": {"S": start["sk"]}}


def sort_key_cursor(last_evaluated_key: Mapping[str, Any] | None) -> Key | None:
    """The cursor key of a partition page's LastEvaluatedKey (its sort key only)."""
    return {"sk": last_evaluated_key["sk"]["S"]} if last_evaluated_key else None
