"""The one error type the UI sees: a message a user can act on, plus what support needs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

REDACTED = "[redacted]"
# A run this long shared with a key is treated as the key (the key without "sk-", a substring).
SHARED_RUN = 12
# Shorter "keys" (a local server's "ollama") are placeholders, not secrets.
MIN_SECRET_LENGTH = 8
_SECRET_LIKE_RE = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{4,}|[A-Fa-f0-9]{32,})\b")


def redact(text: str, secrets: Iterable[str], *, replacement: str = REDACTED, lookalikes: bool = True) -> str:
    """``text`` with every secret removed, for any text that may reach the page, a log or a file.

    Case-insensitive; replaces each secret whole and any run of SHARED_RUN or more characters that
    it shares with a secret (a key without its ``sk-`` prefix, upper-cased, cut) by
    ``replacement``, and (``lookalikes``) anything that looks like an OpenAI key or a long hex key.
    """
    covered = bytearray(len(text))
    folded = _fold(text)
    for secret in secrets:
        secret = _fold(secret)
        if len(secret) < MIN_SECRET_LENGTH:
            continue
        window = min(SHARED_RUN, len(secret))
        grams = {secret[i : i + window] for i in range(len(secret) - window + 1)}
        for start in range(len(folded) - window + 1):
            if folded[start : start + window] in grams:
                covered[start : start + window] = b"\x01" * window
    if any(covered):
        parts, start = [], 0
        for match in re.finditer(rb"\x01+", bytes(covered)):
            parts += [text[start : match.start()], replacement]
            start = match.end()
        text = "".join([*parts, text[start:]])
    return _SECRET_LIKE_RE.sub(REDACTED, text) if lookalikes else text


def _fold(text: str) -> str:
    """Lower case, one character for one (``str.lower`` may lengthen a few characters)."""
    return "".join(char.lower()[0] for char in text)


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
