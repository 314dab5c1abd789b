"""Presentation settings (operator configuration) and the one object the presentation view asks.

The operator sets the title, an optional logo and whether share-link viewers may send requests
billed to the owner, in the environment or in ``.streamlit/secrets.toml``::

    PLAYGROUND_PRESENTATION_TITLE="Acme support bot"      # or, in secrets.toml:
    PLAYGROUND_PRESENTATION_LOGO=/srv/logo.png            # [presentation]
    PLAYGROUND_PRESENTATION_VIEWERS_MAY_SEND=false        # title = "..."; logo = "..."; viewers_may_send = false

The environment wins over the secrets. What the view hides is the UI's job; it asks
:class:`PresentationView`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from playground.errors import ErrorKind, PlaygroundError

ENV_PREFIX = "PLAYGROUND_PRESENTATION_"
SECRETS_SECTION = "presentation"
PRESENT_QUERY_PARAM = "present"  # ?present=1 opens the presentation view
LOGO_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class PresentationSettings(BaseModel):
    """What the operator configured for presentations."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(default="Prompt demo", min_length=1, max_length=120)
    logo: str | None = None  # a local image file or an http(s) URL
    viewers_may_send: bool = False  # share-link viewers may send requests billed to the owner

    @field_validator("title", mode="before")
    @classmethod
    def _strip_title(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("viewers_may_send", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> Any:
        if isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE | _FALSE:
                return word in _TRUE
            raise ValueError(f"must be true or false, not {value!r}")
        return value

    @field_validator("logo", mode="before")
    @classmethod
    def _logo(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = value.strip()
        if not value:
            return None
        scheme = urlsplit(value).scheme.lower()
        if scheme in ("http", "https"):
            if not urlsplit(value).netloc:
                raise ValueError(f"{value!r} is not a complete URL")
            return value
        if scheme and len(scheme) > 1:  # a Windows drive letter is not a scheme
            raise ValueError(f"only http(s) URLs or a file path are accepted, not {scheme}:")
        path = Path(value).expanduser()
        if path.suffix.lower() not in LOGO_SUFFIXES:
            raise ValueError(f"{value!r} is not an image file ({', '.join(LOGO_SUFFIXES)})")
        if not path.is_file():
            raise ValueError(f"no file at {path}")
        return str(path)

    @property
    def logo_is_url(self) -> bool:
        return self.logo is not None and urlsplit(self.logo).scheme.lower() in ("http", "https")


_FIELDS = {"title": "TITLE", "logo": "LOGO", "viewers_may_send": "VIEWERS_MAY_SEND"}


def load_presentation_settings(
    environ: Mapping[str, str], secrets: Mapping[str, Any] | None = None
) -> PresentationSettings:
    """Parse the operator's settings (``environ`` over ``secrets["presentation"]``).

    Raises PlaygroundError (CONFIGURATION) naming the setting, where it came from, and what is wrong.
    """
    section = (secrets or {}).get(SECRETS_SECTION) or {}
    if not isinstance(section, Mapping):
        raise PlaygroundError(
            ErrorKind.CONFIGURATION, f"[{SECRETS_SECTION}] in secrets.toml must be a table (title, logo, ...)."
        )
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, value in section.items():
        values[key] = value
        origin[key] = f"{key} in the [{SECRETS_SECTION}] section of secrets.toml"
    for field_name, suffix in _FIELDS.items():
        if (env_value := environ.get(ENV_PREFIX + suffix)) is not None:
            values[field_name] = env_value
            origin[field_name] = f"the environment variable {ENV_PREFIX + suffix}"
    try:
        return PresentationSettings.model_validate(values)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            name = str(problem["loc"][0]) if problem["loc"] else "?"
            where = origin.get(name, name)
            reason = problem["msg"].removeprefix("Value error, ")
            if problem["type"] == "extra_forbidden":
                reason = f"unknown setting (known: {', '.join(_FIELDS)})"
            problems.append(f"{where}: {reason}")
        raise PlaygroundError(
            ErrorKind.CONFIGURATION, "The presentation settings are invalid. " + "; ".join(problems) + "."
        ) from None


def presentation_requested(query: Mapping[str, str | list[str]]) -> bool:
    """Whether the URL asks for the presentation view (``?present=1``, ``true``, ``yes``, ``on``)."""
    value = query.get(PRESENT_QUERY_PARAM)
    if isinstance(value, list):
        value = value[-1] if value else None
    return value is not None and value.strip().lower() in _TRUE


@dataclass(frozen=True)
class PresentationView:
    """What the screen may show, for the owner (``viewer_may_send`` None) or a share-link viewer.

    ``presenting``: the presentation toggle (or ``?present=1``) is on. A share-link viewer always
    gets the read-only presentation: no settings, keys, connection, per-message actions or meter.
    ``viewer_may_send``: the link's permission (see ``playground.demo.links``), None for the owner.
    """

    settings: PresentationSettings
    presenting: bool = False
    viewer_may_send: bool | None = None

    @property
    def is_viewer(self) -> bool:
        return self.viewer_may_send is not None

    @property
    def presentation(self) -> bool:
        """Enlarged conversation, title and logo, collapsed sidebar."""
        return self.presenting or self.is_viewer

    @property
    def shows_settings(self) -> bool:
        """Settings, keys, the connection, per-message actions and the meter."""
        return not self.presentation

    @property
    def may_change_connection(self) -> bool:
        return not self.is_viewer

    @property
    def may_send(self) -> bool:
        """Whether requests billed to the owner may be sent from this screen (else replay only)."""
        if self.viewer_may_send is None:
            return True
        return self.viewer_may_send and self.settings.viewers_may_send
