"""Filters from query parameters (`GET /search`, `GET /documents`, `GET /sources`): the same `schemas.Filters`
that `POST /ask` takes in its body, with the same checks and a 422 that names the parameter."""

from __future__ import annotations

import datetime
import re
from typing import Annotated

from fastapi import Depends, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator, ValidationError

from qa_service.schemas import MAX_FILTER_ITEMS, FilterDocId, Filters, SourceName

_PARAMETERS = {"date_from": "date_from", "date_to": "date_to", "sources": "source", "doc_ids": "doc_id"}


def _iso_day(value: object) -> object:
    """Only YYYY-MM-DD: pydantic would otherwise read a number as seconds since 1970."""
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


QueryDay = Annotated[datetime.date, BeforeValidator(_iso_day)]


def query_filters(
    date_from: Annotated[QueryDay | None, Query(description="Published on or after this day (YYYY-MM-DD).")] = None,
    date_to: Annotated[QueryDay | None, Query(description="Published on or before this day (YYYY-MM-DD).")] = None,
    source: Annotated[
        list[SourceName], Query(max_length=MAX_FILTER_ITEMS, description="An outlet; repeat for several.")
    ] = [],  # noqa: B006 - FastAPI copies defaults; a list (not None) keeps the schema a plain array
    doc_id: Annotated[
        list[FilterDocId], Query(max_length=MAX_FILTER_ITEMS, description="An article; repeat for several.")
    ] = [],  # noqa: B006
) -> Filters:
    try:
        return Filters(
            date_from=date_from.isoformat() if date_from else None,
            date_to=date_to.isoformat() if date_to else None,
            sources=source or None,
            doc_ids=doc_id or None,
        )
    except ValidationError as exc:
        errors = []
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else ""
            errors.append({**error, "loc": ("query", _PARAMETERS.get(field, field), *error["loc"][1:])})
        raise RequestValidationError(errors) from None


QueryFilters = Annotated[Filters, Depends(query_filters)]
