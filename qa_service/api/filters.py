"""Filters from query parameters (`GET /search`, `GET /documents`, `GET /sources`): the same `schemas.Filters`
that `POST /ask` takes in its body, with the same checks and a 422 that names the parameter."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from qa_service.schemas import MAX_FILTER_ITEMS, Filters

_PARAMETERS = {"date_from": "date_from", "date_to": "date_to", "sources": "source", "doc_ids": "doc_id"}


def query_filters(
    date_from: Annotated[str | None, Query(description="Published on or after this day (YYYY-MM-DD).")] = None,
    date_to: Annotated[str | None, Query(description="Published on or before this day (YYYY-MM-DD).")] = None,
    source: Annotated[
        list[str] | None, Query(max_length=MAX_FILTER_ITEMS, description="An outlet; repeat for several.")
    ] = None,
    doc_id: Annotated[
        list[str] | None, Query(max_length=MAX_FILTER_ITEMS, description="An article; repeat for several.")
    ] = None,
) -> Filters:
    try:
        return Filters(date_from=date_from, date_to=date_to, sources=source, doc_ids=doc_id)
    except ValidationError as exc:
        errors = []
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else ""
            errors.append({**error, "loc": ("query", _PARAMETERS.get(field, field), *error["loc"][1:])})
        raise RequestValidationError(errors) from None


QueryFilters = Annotated[Filters, Depends(query_filters)]
