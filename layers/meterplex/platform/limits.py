"""SPEC §0 input limits, in one place. The resolver factory (`platform.api`) applies them to every
route before Powertools validates anything; request models use the annotated types below.

* body ≤ 1 MiB (a route may allow more through `body_limit_extension`) → 413 `PAYLOAD_TOO_LARGE`;
* a body is UTF-8 (else 400 `INVALID_ENCODING`), and JSON when there is one (else 415);
* JSON: nesting ≤ 32 levels (`JSON_TOO_DEEP`), integers within a signed 64-bit range
  (`INTEGER_OUT_OF_RANGE` — Python's own 4,300-digit guard would raise a ValueError, a 500),
  no NaN/Infinity, no unpaired surrogates (they cannot be stored);
* every string that becomes part of a DynamoDB key ≤ 255 bytes in UTF-8 (`KeyPart`, and every
  path parameter); every free-form `metadata` ≤ 16 KB serialized (`metadata_type`);
* correlation ids: 1–128 characters of `[A-Za-z0-9._:-]`, else the caller's is replaced.

Pure: no AWS, no Powertools. Errors are the platform's domain errors, so they answer the envelope.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from meterplex.platform.errors import FieldError, InvalidInput, PayloadTooLarge, UnsupportedMediaType

MAX_BODY_BYTES = 1_048_576
MAX_JSON_DEPTH = 32
MAX_KEY_BYTES = 255  # DynamoDB allows 2,048 (pk) / 1,024 (sk) bytes: room for the prefixes
MAX_METADATA_BYTES = 16_384
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_INT_DIGITS = len(str(INT_MAX))
CORRELATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# A route that accepts a bigger body says so: `openapi_extensions={BODY_LIMIT_EXTENSION: n}`.
BODY_LIMIT_EXTENSION = "x-max-body-bytes"
JSON_MEDIA_TYPE = "application/json"


def is_correlation_id(value: str | None) -> bool:
    return value is not None and CORRELATION_ID.fullmatch(value) is not None


# -- the body ---------------------------------------------------------------------------------
def body_limit(extensions: dict[str, Any] | None) -> int:
    """The byte limit of a route's body: its `x-max-body-bytes` extension, else 1 MiB."""
    declared = (extensions or {}).get(BODY_LIMIT_EXTENSION)
    return int(declared) if declared else MAX_BODY_BYTES


def body_text(body: str | None, *, is_base64: bool, limit: int) -> str | None:
    """The request body as text, or the error its size or encoding earns (413 / 400)."""
    if not body:
        return None
    if not is_base64:
        if (len(body) if body.isascii() else utf8_length(body)) > limit:
            raise _too_large(limit)
        return body
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidInput("The request body is not valid base64", code="INVALID_ENCODING") from error
    if len(raw) > limit:
        raise _too_large(limit)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput("The request body is not UTF-8 text", code="INVALID_ENCODING") from error


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body exceeds {limit:,} bytes")


def require_json(content_type: str | None) -> None:
    """A body is JSON: `application/json` (any parameters) or a `+json` type; absent is JSON too."""
    if not content_type:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media != JSON_MEDIA_TYPE and not (media.startswith("application/") and media.endswith("+json")):
        raise UnsupportedMediaType(
            f"Unsupported content type {media or content_type!r}: send the body as {JSON_MEDIA_TYPE}"
        )


def parse_json(text: str | None) -> Any:
    """`json.loads` within SPEC §0's limits; every violation is a 400 envelope, never a 500."""
    if not text:
        return None
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError as error:  # far deeper than the limit: the parser gave up first
        raise _too_deep() from error
    except json.JSONDecodeError as error:
        raise InvalidInput(
            "The request body is not valid JSON",
            code="MALFORMED_JSON",
            details=[FieldError("body", f"{error.msg} at position {error.pos}")],
        ) from error
    _check_tree(value)
    return value


def _int(digits: str) -> int:
    if len(digits.lstrip("-")) > _INT_DIGITS or not INT_MIN <= int(digits) <= INT_MAX:
        raise InvalidInput(
            f"Integers must lie within [{INT_MIN}, {INT_MAX}]; each field documents its own range",
            code="INTEGER_OUT_OF_RANGE",
        )
    return int(digits)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidInput("Numbers must be finite", code="NUMBER_OUT_OF_RANGE")
    return value


def _constant(name: str) -> Any:
    raise InvalidInput(f"{name} is not JSON", code="MALFORMED_JSON")


def _too_deep() -> InvalidInput:
    return InvalidInput(f"JSON may nest at most {MAX_JSON_DEPTH} levels", code="JSON_TOO_DEEP")


def _check_tree(value: Any) -> None:
    """Depth ≤ 32 and storable strings, in one iterative walk (no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth + 1 > MAX_JSON_DEPTH:
                raise _too_deep()
            if isinstance(node, dict):
                for key, child in node.items():
                    _check_string(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in node)
        elif isinstance(node, str):
            _check_string(node)


def _check_string(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:  # "\ud800": valid JSON, but no UTF-8 for it
        raise InvalidInput("Strings must not contain unpaired surrogates", code="MALFORMED_JSON") from error


# -- fields -----------------------------------------------------------------------------------
def utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def key_bytes_error(text: str) -> str | None:
    """Why `text` cannot be part of a key, or None."""
    if utf8_length(text) > MAX_KEY_BYTES:
        return f"must be at most {MAX_KEY_BYTES} bytes in UTF-8"
    return None


def key_part(text: str) -> str:
    """A validator: `text` fits in a key (≤ 255 bytes in UTF-8)."""
    problem = key_bytes_error(text)
    if problem:
        raise ValueError(problem)
    return text


KeyPart = Annotated[
    str,
    Field(min_length=1, max_length=MAX_KEY_BYTES, description=f"1–{MAX_KEY_BYTES} bytes in UTF-8"),
    AfterValidator(key_part),
]


def metadata_size(max_bytes: int) -> AfterValidator:
    """A validator: the JSON object serializes (as stored: compact, ASCII) to ≤ `max_bytes`."""

    def check(value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(json.dumps(value, separators=(",", ":"))) > max_bytes:
            raise ValueError(f"metadata must serialize to at most {max_bytes:,} bytes")
        return value

    return AfterValidator(check)


Metadata = Annotated[
    dict[str, Any],
    Field(description=f"free-form JSON object, at most {MAX_METADATA_BYTES:,} bytes serialized"),
    metadata_size(MAX_METADATA_BYTES),
]
