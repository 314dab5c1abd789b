"""The one error type the UI sees: a message a user can act on, plus what support needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ErrorKind(StrEnum):
    AUTH = "auth"
    PERMISSION = "permission"
    NOT_FOUND = "not_found"
    RATE_LIMIT = "rate_limit"
    QUOTA = "quota"
    CONTEXT_LENGTH = "context_length"
    CONTENT_FILTER = "content_filter"
    BAD_REQUEST = "bad_request"
    SERVER = "server"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    STREAM_INTERRUPTED = "stream_interrupted"
    CONFIGURATION = "configuration"
    INVALID_INPUT = "invalid_input"


@dataclass
class PlaygroundError(Exception):
    """An error with a user-actionable ``message``.

    ``retryable`` says whether pressing Retry can help (quota and auth errors cannot).
    ``request_id`` is the provider's ``x-request-id`` when there was a response.
    """

    kind: ErrorKind
    message: str
    request_id: str | None = None
    status: int | None = None
    retryable: bool = False
    details: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @classmethod
    def invalid_input(cls, message: str, **details: object) -> PlaygroundError:
        """Bad user input (a file, a pasted document, a value): nothing was sent."""
        return cls(ErrorKind.INVALID_INPUT, message, details=details)

    def __str__(self) -> str:
        suffix = f" (request id: {self.request_id})" if self.request_id else ""
        return f"{self.message}{suffix}"
