"""Input checks shared by the routers, and a 422 handler that can always encode what it echoes.

FastAPI's own 422 handler echoes each bad `input` back. Python's `json` accepts `NaN`, `Infinity` and lone
surrogate escapes (`"\\ud800"`), none of which can be written back as JSON (or as UTF-8): pydantic refuses them
(a lone surrogate is not a valid string), but the default handler then failed with a 500. Here the echo is made
JSON-safe first, and a long input is echoed only by its start and length (a 5,000-character question came
back whole).

Request bodies are JSON only (`JSON_BODY`: anything else is 415, where FastAPI said "Input should be a valid
dictionary") and take only their own fields (`StrictBody`: `"topk": 3` is a 422 naming it, not a silent default).
"""

from __future__ import annotations

import datetime
import math
from difflib import get_close_matches
from email.message import Message
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

ECHO_CHARS = 100
"""The longest input a 422 echoes whole; a longer one is echoed as its start and its length."""


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


def short_echo(value: Any) -> Any:  # any JSON-like tree
    """`value` with every string over ECHO_CHARS cut to its start and length: the client has the rest."""
    if isinstance(value, str) and len(value) > ECHO_CHARS:
        return f"{value[:ECHO_CHARS]}… ({len(value):,} characters)"
    if isinstance(value, dict):
        return {key: short_echo(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [short_echo(item) for item in value]
    return value


def _field_names(request: Request) -> dict[str, list[str]]:
    """The fields of the route's JSON body model and its query parameters, to suggest the one an unknown name
    was meant to be."""
    route = request.scope.get("route")
    field = getattr(route, "body_field", None)
    model = getattr(getattr(field, "field_info", None), "annotation", None)
    body = list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []
    return {"body": body, "query": sorted(_route_query_names(route))}


def _readable(error: dict[str, Any], names: dict[str, list[str]]) -> dict[str, Any]:
    if error.get("type") == "extra_forbidden" and error.get("loc"):
        where = "query parameter" if error["loc"][0] == "query" else "field"
        fields = names["query"] if error["loc"][0] == "query" else names["body"]
        name = str(error["loc"][-1])
        close = get_close_matches(name, fields, n=1)
        listed = f" (the {where}s are {', '.join(fields)})" if fields else ""
        hint = f" (did you mean {close[0]!r}?)" if close else listed
        error = {**error, "msg": f"unknown {where} {name!r}{hint}"}
    if "input" in error:
        error = {**error, "input": short_echo(error["input"])}
    return error


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with pydantic's error list, as FastAPI gives it, but never a 500 for an input it cannot echo, never a
    long input echoed whole, and an unknown field or query parameter named with the one it was probably meant
    to be."""
    names = _field_names(request)
    errors = [_readable(error, names) for error in jsonable_encoder(exc.errors())]
    return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": json_safe(errors)})


class StrictBody(BaseModel):
    """A JSON request body that refuses fields it does not have (a misspelt `topk` would otherwise be ignored)."""

    model_config = ConfigDict(extra="forbid")


def require_json(request: Request) -> None:
    """415 unless the body is declared JSON (`application/json` or `application/*+json`).

    FastAPI reads any other body (text/plain, a form, no content type) as bytes and answers 422 "Input should be
    a valid dictionary", which does not say what to change.
    """
    declared = request.headers.get("content-type", "")
    message = Message()
    message["content-type"] = declared
    subtype = message.get_content_subtype()
    is_json = message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))
    if declared and is_json:
        return
    got = f"got {message.get_content_type()}" if declared else "no Content-Type was sent"
    raise HTTPException(
        status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        detail=f"the body must be JSON with the header Content-Type: application/json ({got})",
    )


JSON_BODY = Depends(require_json)
"""For `dependencies=[...]` of every route that takes a JSON body."""


def _query_names(dependant: Dependant) -> frozenset[str]:
    """Every query parameter a route takes, its own and its dependencies' (the filters)."""
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


def _route_query_names(route: object) -> frozenset[str]:
    """Walked on each request (a handful of objects): routes are not hashable, so not cached."""
    dependant = getattr(route, "dependant", None)
    return _query_names(dependant) if isinstance(dependant, Dependant) else frozenset()


def known_query_only(request: Request) -> None:
    """422 naming a query parameter the route does not take: `?topk=3` was ignored silently, as a misspelt body
    field was before `StrictBody`."""
    known = _route_query_names(request.scope.get("route"))
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise RequestValidationError(
            [
                {
                    "type": "extra_forbidden",
                    "loc": ("query", name),
                    "msg": "Extra inputs are not permitted",
                    "input": request.query_params.get(name),
                }
                for name in unknown
            ]
        )


KNOWN_QUERY = Depends(known_query_only)
"""For `dependencies=[...]` of every API router: an unknown query parameter is a 422, not ignored."""


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
