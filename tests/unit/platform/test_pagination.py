"""Cursor pagination (platform.pagination): pages by cursor or number over a key-ordered store."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterplex.platform.errors import InvalidInput
from meterplex.platform.pagination import Fetch, Key, cursor_meta, cursor_page, decode_cursor, encode_cursor


def store(n: int, chunk: int = 1000) -> tuple[list[str], list[int], Fetch[str]]:
    """`n` items, and a fetch that (like DynamoDB) returns at most `chunk` per call."""
    items = [f"k{i:05d}" for i in range(n)]
    calls: list[int] = []

    def fetch(start: Key | None, limit: int) -> tuple[list[str], Key | None]:
        calls.append(limit)
        first = 0 if start is None else items.index(start["sk"]) + 1
        page = items[first : first + min(limit, chunk)]
        more = first + len(page) < len(items)
        return page, ({"sk": page[-1]} if page and more else None)

    return items, calls, fetch


@given(n=st.integers(0, 60), limit=st.integers(1, 25), chunk=st.integers(1, 30))
def test_following_cursors_reads_every_item_once_in_order(n: int, limit: int, chunk: int) -> None:
    items, _, fetch = store(n, chunk)
    seen: list[str] = []
    start: Key | None = None
    while True:
        page, last = cursor_page(fetch, limit=limit, start=start)
        assert len(page) <= limit
        seen += page
        meta = cursor_meta(limit, last)
        if meta.nextCursor is None:
            break
        start = decode_cursor(meta.nextCursor, {"sk"})
    assert seen == items


@given(n=st.integers(0, 60), limit=st.integers(1, 25), page=st.integers(1, 8))
def test_a_page_number_is_the_same_slice(n: int, limit: int, page: int) -> None:
    items, _, fetch = store(n, chunk=7)
    got, _ = cursor_page(fetch, limit=limit, page=page)
    assert got == items[(page - 1) * limit : page * limit]


def test_the_first_page_reads_only_what_it_returns() -> None:
    _, calls, fetch = store(10_000)
    cursor_page(fetch, limit=20)
    assert calls == [20]


@pytest.mark.parametrize(
    "cursor",
    ["!!!", "bm90IGpzb24", encode_cursor({"sk": "a", "pk": "TENANT#other"}), encode_cursor({"other": "x"})],
)
def test_a_cursor_this_list_did_not_return_is_400(cursor: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        decode_cursor(cursor, {"sk"})
    assert raised.value.code == "INVALID_CURSOR"
