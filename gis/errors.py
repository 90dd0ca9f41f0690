"""Typed errors by meaning: each carries a stable code and a user-safe message, no transport.

The API maps each class to its status code in one table (``gis.api.errors.STATUS``); the
command line keeps its own exit codes.
"""

from __future__ import annotations

from typing import Any


class WanggeError(Exception):
    """Base error: ``code`` stable for clients, ``message`` safe to show, ``details`` per field."""

    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or []

    def to_dict(self) -> dict[str, Any]:
        """JSON body of the error."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(WanggeError):
    """The request is well-formed but a field is wrong."""

    code = "invalid_input"

    @classmethod
    def field(cls, field: str, reason: str, code: str = "invalid_input") -> InvalidInput:
        """One bad field."""
        return cls(f"{field}: {reason}", code=code, details=[{"field": field, "reason": reason}])


class BadQueryParameter(InvalidInput):
    """A query parameter that a standard (OGC API, Open311) answers with 400 Bad Request."""

    code = "invalid_parameter"


class UnknownReference(WanggeError):
    """An input names something that does not exist (a worker, a building, a grid)."""

    code = "unknown_reference"


class NotFound(WanggeError):
    """The thing asked for does not exist."""

    code = "not_found"


class MethodNotAllowed(WanggeError):
    """The resource exists but cannot be changed this way (e.g. the active generation)."""

    code = "method_not_allowed"


class Conflict(WanggeError):
    """The request conflicts with stored state."""

    code = "conflict"


class Unauthorized(WanggeError):
    """No valid credentials."""

    code = "unauthorized"


class Forbidden(WanggeError):
    """Valid credentials, but not for this."""

    code = "forbidden"


class Unavailable(WanggeError):
    """Something needed is not there for now (data, a steady territory); retry later."""

    code = "unavailable"


class Busy(Unavailable):
    """Too much work at once; retry later."""

    code = "busy"


class TooMany(WanggeError):
    """Too many requests from one sender in a while (a rate limit); retry later."""

    code = "too_many_requests"


class QueryTimeout(WanggeError):
    """A statement ran past the statement timeout; nothing was changed."""

    code = "query_timeout"

    def __init__(self, message: str = "the query took too long", **kw: Any) -> None:
        super().__init__(message, **kw)
