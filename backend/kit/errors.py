"""Domain errors carry an HTTP-ish status and a machine-readable code.

Adapters translate them: problem+json in the API, a flash message on the web,
a plain sentence in the bot.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    reason: str


@dataclass
class DomainError(Exception):
    detail: str
    code: str = "domain_error"
    status: int = 400
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


class NotFound(DomainError):
    def __init__(self, detail: str = "Not found.", code: str = "not_found") -> None:
        super().__init__(detail=detail, code=code, status=404)


class Conflict(DomainError):
    def __init__(self, detail: str, code: str = "conflict", errors: list[FieldError] | None = None) -> None:
        super().__init__(detail=detail, code=code, status=409, errors=errors or [])


class Invalid(DomainError):
    def __init__(self, detail: str, errors: list[FieldError] | None = None, code: str = "invalid") -> None:
        super().__init__(detail=detail, code=code, status=422, errors=errors or [])


class Unauthorized(DomainError):
    def __init__(self, detail: str = "Authentication required.", code: str = "unauthorized") -> None:
        super().__init__(detail=detail, code=code, status=401, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(DomainError):
    def __init__(self, detail: str = "You are not allowed to do this.", code: str = "forbidden") -> None:
        super().__init__(detail=detail, code=code, status=403)


class TooManyRequests(DomainError):
    def __init__(self, detail: str, retry_after: int, code: str = "rate_limited") -> None:
        super().__init__(detail=detail, code=code, status=429, headers={"Retry-After": str(retry_after)})
