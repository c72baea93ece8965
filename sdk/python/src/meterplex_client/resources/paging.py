"""Query parameters of list routes: `page`/`limit` (SPEC §0) and `cursor` on unbounded lists."""

from __future__ import annotations

from typing import Any


def page_params(
    page: int | None = None, limit: int | None = None, cursor: str | None = None, **filters: Any
) -> dict[str, Any]:
    return {"page": page, "limit": limit, "cursor": cursor, **filters}
