"""Reading a local cloud's HTTP answers, for the programs that drive one (the load harness, the
e2e tests): `ok(reply)` is the JSON body of a 2xx answer, and an error naming the request otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests


def ok(reply: requests.Response) -> Any:
    assert 200 <= reply.status_code < 300, (
        f"{reply.request.method} {reply.url}: {reply.status_code} {reply.text}"
    )
    return reply.json()
