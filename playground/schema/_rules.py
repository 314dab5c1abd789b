"""Strict-mode rules per provider, loaded from ``playground/strict_rules.toml`` (data, not code)."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from playground.errors import ErrorKind, PlaygroundError

RULES_PATH = Path(__file__).resolve().parent.parent / "strict_rules.toml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StrictLimits(_Frozen):
    max_properties: int
    max_depth: int
    max_chars: int
    max_enum_values: int
    large_string_enum_values: int
    large_string_enum_chars: int


class ProviderRules(_Frozen):
    """The strict-mode subset one provider accepts."""

    name: str
    label: str
    types: tuple[str, ...]
    formats: tuple[str, ...]
    unsupported_keywords: tuple[str, ...]
    keywords: dict[str, tuple[str, ...]]
    limits: StrictLimits

    def allowed_keywords(self, types: list[str] | None) -> set[str]:
        """Keywords allowed on a schema whose "type" is ``types`` (None: no "type" keyword)."""
        allowed = set(self.keywords.get("any", ()))
        for t in types or ():
            allowed.update(self.keywords.get(t, ()))
        return allowed


class InputLimits(_Frozen):
    """Bounds on one pasted JSON document, and the builder's field budget (``[input_limits]``)."""

    max_chars: int
    max_depth: int
    max_keys: int
    builder_max_fields: int


class NameRule(_Frozen):
    pattern: str
    max_length: int

    @property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern)


@cache
def _raw_rules() -> dict:
    with RULES_PATH.open("rb") as fh:
        return tomllib.load(fh)


def known_providers() -> list[str]:
    raw = _raw_rules()
    return sorted([*raw["providers"], *raw.get("aliases", {})])


@cache
def provider_rules(provider: str = "openai") -> ProviderRules:
    """The rules for ``provider`` ("openai", "azure", or an alias such as "compatible")."""
    raw = _raw_rules()
    key = raw.get("aliases", {}).get(provider, provider)
    if key not in raw["providers"]:
        raise PlaygroundError(
            ErrorKind.INVALID_INPUT,
            f"Unknown provider {provider!r} for strict-mode rules; use one of: {', '.join(known_providers())}.",
        )
    data = raw["providers"][key]
    return ProviderRules(
        name=key,
        label=data["label"],
        types=tuple(data["types"]),
        formats=tuple(data["formats"]),
        unsupported_keywords=tuple(data["unsupported_keywords"]),
        keywords={k: tuple(v) for k, v in data["keywords"].items()},
        limits=StrictLimits(**data["limits"]),
    )


@cache
def name_rule() -> NameRule:
    return NameRule(**_raw_rules()["name_rule"])


@cache
def input_limits() -> InputLimits:
    return InputLimits(**_raw_rules()["input_limits"])
