"""Input checks shared by the routers, and a 422 handler that can always encode what it echoes.

FastAPI's own 422 handler echoes each bad `input` back. Python's `json` accepts `NaN`, `Infinity` and lone
surrogate escapes (`"\\ud800"`), none of which can be written back as JSON (or as UTF-8): pydantic refuses them
(a lone surrogate is not a valid string), but the default handler then failed with a 500. Here the echo is made
JSON-safe first.
"""

from __future__ import annotations

import datetime
import math
from typing import Annotated, Any

from fastapi import Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, Field


def json_safe(value: Any) -> Any:  # any JSON-like tree
    """`value` with every string encodable as UTF-8 (lone surrogates as `\\udXXX`) and non-finite floats as text."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # 'nan', 'inf', '-inf'
    if isinstance(value, dict):
        return {json_safe(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with pydantic's error list, as FastAPI gives it, but never a 500 for an input it cannot echo."""
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": json_safe(jsonable_encoder(exc.errors()))}
    )


def real_date(value: str) -> str:
    """`YYYY-MM-DD` that names a day of the calendar: 2025-02-30 and 2025-13-45 are refused, naming the value."""
    try:
        datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a calendar date ({exc})") from None
    return value


CalendarDate = Annotated[
    str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"}), AfterValidator(real_date)
]
"""A `YYYY-MM-DD` string that is a real day; the schema says `format: date` so generated clients send real ones."""
