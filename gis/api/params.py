"""Shared parameter types of the HTTP API and the error answers every route documents.

The types bound what the database columns and the date arithmetic can hold, so an
out-of-range value is a 422 naming the parameter, never a 500 from PostgreSQL or Python.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import AfterValidator, BaseModel, StringConstraints

from gis import clock

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

# ids of bigserial columns (events, dispatches, tokens, tracks, ...)
Id = Annotated[int, Ge(1), Le(INT64_MAX)]
# generation ids (serial)
GenerationId = Annotated[int, Ge(1), Le(INT32_MAX)]
# a number of days back from now
Days = Annotated[int, Ge(0), Le(clock.MAX_DAYS)]
# a time: naive = China Standard Time; offsets within ±15:59; years 1900-2999
Instant = Annotated[datetime, AfterValidator(clock.aware)]
# a calendar day, years 1900-2999
Day = Annotated[date, AfterValidator(clock.check_day)]
# a month YYYY-MM, years 1900-2999
Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$"),
                  AfterValidator(clock.check_month)]


class ErrorDetail(BaseModel):
    """One bad field and why."""

    field: str
    reason: str


class ErrorBody(BaseModel):
    """A stable code, a message safe to show, and the fields at fault."""

    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorAnswer(BaseModel):
    """Every error answer: ``{"error": {...}}``."""

    error: ErrorBody


_WHY = {
    401: "No valid token (missing, unknown, revoked or expired).",
    403: "The token's role or area does not allow this.",
    404: "The thing asked for does not exist (or is outside the caller's area).",
    409: "Conflicts with the stored state (illegal transition, idempotency key reused, ...).",
    422: "Bad input: the details name each field and the reason.",
    500: "Internal error; nothing was stored.",
    503: "The database is unreachable or no territory is loaded; retry after Retry-After.",
    504: "The query took too long.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for the given error statuses, all with the error body."""
    return {c: {"model": ErrorAnswer, "description": _WHY[c]} for c in codes}


PUBLIC_ERRORS = error_responses(404, 422, 500, 503, 504)
TOKEN_ERRORS = error_responses(401, 403, 404, 409, 422, 500, 503, 504)
