"""Typed errors: each carries an HTTP status, a stable code and a user-safe message."""

from __future__ import annotations

from typing import Any


class WanggeError(Exception):
    """Base error: ``status`` for HTTP, ``code`` stable for clients, ``message`` safe to show."""

    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details or []

    def to_dict(self) -> dict[str, Any]:
        """JSON body of the error."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(WanggeError):
    """The request is well-formed but a field is wrong (HTTP 422)."""

    status = 422
    code = "invalid_input"

    @classmethod
    def field(cls, field: str, reason: str, code: str = "invalid_input") -> InvalidInput:
        """One bad field."""
        return cls(f"{field}: {reason}", code=code, details=[{"field": field, "reason": reason}])


class NotFound(WanggeError):
    """The thing asked for does not exist (HTTP 404)."""

    status = 404
    code = "not_found"


class Conflict(WanggeError):
    """The request conflicts with stored state (HTTP 409)."""

    status = 409
    code = "conflict"


class Unauthorized(WanggeError):
    """No valid credentials (HTTP 401)."""

    status = 401
    code = "unauthorized"


class Forbidden(WanggeError):
    """Valid credentials, but not for this (HTTP 403)."""

    status = 403
    code = "forbidden"


class ServiceUnavailable(WanggeError):
    """The database (or another dependency) is unreachable (HTTP 503); retry later."""

    status = 503
    code = "service_unavailable"


class NoTerritory(WanggeError):
    """No active boundary generation is loaded yet (HTTP 503)."""

    status = 503
    code = "no_territory"


class QueryTimeout(WanggeError):
    """A statement ran past the statement timeout (HTTP 504); nothing was changed."""

    status = 504
    code = "query_timeout"

    def __init__(self, message: str = "the query took too long", **kw: Any) -> None:
        super().__init__(message, **kw)
