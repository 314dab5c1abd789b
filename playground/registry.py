"""The model registry: limits, prices, tokenizer and image rules, loaded from ``models.toml``.

Everything model-specific lives in that data file. Callers ask :func:`resolve_model` for a
:class:`ModelSpec`; a name the registry does not know (an Azure deployment, a local model, a
fine-tune) resolves to a fallback entry with ``is_estimate=True`` so the UI can label every figure
derived from the guess.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

REGISTRY_PATH = Path(__file__).with_name("models.toml")
#: The setting (environment variable) naming an operator's TOML file of extra ``[models.*]`` entries.
MODELS_FILE_SETTING = "PLAYGROUND_MODELS_FILE"

RETIREMENT_WARNING_DAYS = 90
RETIREMENT_PLATFORMS = {"openai": "OpenAI", "azure": "Azure OpenAI"}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Price(_Frozen):
    """USD per 1M tokens. ``cached_input`` is None where the tier has no cache discount."""

    input: float
    output: float
    cached_input: float | None = None


class PriceTier(_Frozen):
    label: str
    provider: Literal["openai", "azure"]


class TokenRules(_Frozen):
    """Chat-format overheads (cookbook constants) used to estimate prompt tokens."""

    per_message: int
    per_name: int
    reply_priming: int
    func_init: int
    prop_init: int
    prop_key: int
    enum_init: int
    enum_item: int
    func_end: int


class PatchImageRule(_Frozen):
    """32-px patch counting (gpt-4.1-mini, -nano). ``rule`` picks the docs generation."""

    method: Literal["patch"]
    rule: Literal["fit_then_budget", "patch_cap"]
    patch_size: int
    multiplier: float
    max_side: int
    patch_budget: int
    legacy_patch_cap: int


class TileImageRule(_Frozen):
    """512-px tile counting (gpt-4o, gpt-4.1, gpt-4o-mini)."""

    method: Literal["tile"]
    tile_size: int
    base_tokens: int
    tile_tokens: int
    low_tokens: int
    max_side: int
    short_side: int


class Retirement(_Frozen):
    azure: dt.date | None = None
    openai: dt.date | None = None


class ParameterSupport(_Frozen):
    """Which request parameters a model takes. Reasoning models reject the sampling ones
    (``rejects = ["temperature", "top_p"]``) and take a ``reasoning_effort`` from their list."""

    rejects: list[str] = []
    reasoning_efforts: list[str] = []


class ModelEntry(_Frozen):
    label: str
    snapshot: str
    aliases: list[str] = []
    context_window: int
    max_output_tokens: int
    encoding: str
    token_rules: str
    knowledge_cutoff: dt.date | None = None
    features: list[str] = []
    retirement: Retirement = Retirement()
    image: PatchImageRule | TileImageRule = Field(discriminator="method")
    prices: dict[str, Price]
    parameters: ParameterSupport = ParameterSupport()


class ImageProviderLimits(_Frozen):
    max_bytes: int
    max_images_per_request: int


class ImageInputLimits(_Frozen):
    formats: list[str]
    max_input_pixels: int
    providers: dict[str, ImageProviderLimits]


class Bound(_Frozen):
    min: float
    max: float
    default: float


class ParameterBounds(_Frozen):
    temperature: Bound
    top_p: Bound
    frequency_penalty: Bound
    presence_penalty: Bound
    max_stop_sequences: int


class AzureDeploymentType(_Frozen):
    label: str
    context_cap: int | None = None
    #: Whether the Batch API (Global Batch / Data Zone Batch) runs on this kind of deployment.
    batch: bool = False


class ProviderInfo(_Frozen):
    default_tier: str


class Registry(_Frozen):
    default_model: str
    providers: dict[str, ProviderInfo]
    azure_deployment_types: dict[str, AzureDeploymentType]
    parameter_bounds: ParameterBounds
    image_input: ImageInputLimits
    token_rules: dict[str, TokenRules]
    price_tiers: dict[str, PriceTier]
    models: dict[str, ModelEntry]


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry as the app uses it, plus how it was chosen.

    ``requested`` is what the user or server called the model; ``id`` is the registry entry whose
    figures apply. ``is_estimate`` is True when the two are not known to be the same model.
    """

    id: str
    requested: str
    entry: ModelEntry
    token_rules: TokenRules
    is_estimate: bool = False
    context_cap: int | None = field(default=None)

    @property
    def label(self) -> str:
        return self.entry.label

    @property
    def context_window(self) -> int:
        """The usable window: the model's, or the (smaller) cap of an Azure deployment type."""
        if self.context_cap is not None:
            return min(self.context_cap, self.entry.context_window)
        return self.entry.context_window

    @property
    def max_output_tokens(self) -> int:
        return self.entry.max_output_tokens

    @property
    def encoding(self) -> str:
        return self.entry.encoding

    @property
    def image(self) -> PatchImageRule | TileImageRule:
        return self.entry.image

    def price(self, tier: str) -> Price | None:
        return self.entry.prices.get(tier)

    def accepts(self, parameter: str) -> bool:
        """Whether requests to this model may carry ``parameter`` (``reasoning_effort`` only when listed)."""
        if parameter == "reasoning_effort":
            return bool(self.entry.parameters.reasoning_efforts)
        return parameter not in self.entry.parameters.rejects

    def with_context_cap(self, cap: int | None) -> ModelSpec:
        return replace(self, context_cap=cap)

    def retirement_notice(
        self,
        platform: Literal["openai", "azure"],
        today: dt.date | None = None,
        server_shutdown: dt.date | None = None,
    ) -> str | None:
        """A warning when this model is within RETIREMENT_WARNING_DAYS of retirement on ``platform``
        (which one applies is the connection's provider's call), or past it.

        ``server_shutdown`` is the ``shutdown_date`` the server's model list reports: it wins over
        the registry's date (FACTS 8).
        """
        today = today or dt.date.today()
        retires: dt.date | None = server_shutdown or getattr(self.entry.retirement, platform)
        if retires is None:
            return None
        days_left = (retires - today).days
        where = RETIREMENT_PLATFORMS[platform]
        if days_left < 0:
            return f"{self.entry.snapshot} was retired on {where} on {retires:%Y-%m-%d}; requests may fail."
        if days_left <= RETIREMENT_WARNING_DAYS:
            return f"{self.entry.snapshot} retires on {where} on {retires:%Y-%m-%d} ({days_left} days left)."
        return None


def load_registry(path: Path = REGISTRY_PATH) -> Registry:
    """The registry file plus the operator's models file (``PLAYGROUND_MODELS_FILE``), validated.

    Cached: each pair of files is read once per process.
    """
    return _load_registry(path, os.environ.get(MODELS_FILE_SETTING, "").strip() or None)


@cache
def _load_registry(path: Path, operator_file: str | None) -> Registry:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    if operator_file is not None:
        extra = _operator_models(Path(operator_file))
        for model_id, entry in extra.items():
            if isinstance(entry, dict) and entry.get("token_rules") not in data["token_rules"]:
                raise ValueError(
                    f"{MODELS_FILE_SETTING}={operator_file}: model {model_id!r} names token_rules "
                    f"{entry.get('token_rules')!r}; known: {sorted(data['token_rules'])}."
                )
            if isinstance(entry, dict) and (tiers := sorted(set(entry.get("prices", {})) - set(data["price_tiers"]))):
                raise ValueError(
                    f"{MODELS_FILE_SETTING}={operator_file}: model {model_id!r} prices unknown tiers {tiers}."
                )
        data["models"] = {**data["models"], **extra}
    return Registry.model_validate(data)


def _operator_models(path: Path) -> dict[str, object]:
    """The ``[models.*]`` tables of an operator's file; an operator's entry replaces a built-in one."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ValueError(f"{MODELS_FILE_SETTING}={path}: cannot read the file ({exc.strerror}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{MODELS_FILE_SETTING}={path}: not valid TOML ({exc}).") from None
    if unknown := sorted(set(data) - {"models"}):
        raise ValueError(f"{MODELS_FILE_SETTING}={path}: only [models.*] tables are allowed (found {unknown}).")
    models = data.get("models", {})
    for model_id, entry in models.items():
        try:
            ModelEntry.model_validate(entry)
        except ValueError as exc:
            raise ValueError(f"{MODELS_FILE_SETTING}={path}: model {model_id!r} is not valid: {exc}") from None
    return dict(models)


def parameter_bounds() -> ParameterBounds:
    return load_registry().parameter_bounds


def image_input_limits() -> ImageInputLimits:
    return load_registry().image_input


def model_ids() -> list[str]:
    return list(load_registry().models)


def price_tiers() -> dict[str, PriceTier]:
    return load_registry().price_tiers


def azure_deployment_types() -> dict[str, AzureDeploymentType]:
    return load_registry().azure_deployment_types


def default_tier(provider: str) -> str:
    return load_registry().providers[provider].default_tier


def price_tiers_of(platform: str) -> list[str]:
    """The price tiers billed by ``platform`` ("openai" or "azure"), in registry order."""
    by_platform: dict[str, list[str]] = {}
    for name, tier in price_tiers().items():
        by_platform.setdefault(tier.provider, []).append(name)
    return by_platform.get(platform, [])


def find_entry(name: str) -> str | None:
    """The registry id for an exact id, snapshot or alias (``ft:`` fine-tunes map to their base)."""
    registry = load_registry()
    candidate = name.strip()
    if candidate.startswith("ft:"):
        candidate = candidate.split(":")[1]
    for model_id, entry in registry.models.items():
        if candidate == model_id or candidate == entry.snapshot or candidate in entry.aliases:
            return model_id
    return None


def resolve_model(requested: str | None, pinned_entry: str | None = None, served: str | None = None) -> ModelSpec:
    """Map what the server calls a model to the registry entry whose figures apply.

    In order: a name the registry knows (model id, snapshot, alias, fine-tune of one) is that model;
    else the user's explicit choice (``pinned_entry``, for Azure deployments and local models);
    else the model the server reported in its replies (``served``); else the default model. Only
    the first and the third are known to be right: the others are flagged ``is_estimate``.
    """
    registry = load_registry()
    requested = (requested or "").strip() or registry.default_model
    if (known := find_entry(requested)) is not None:
        model_id, is_estimate = known, False
    elif pinned_entry in registry.models:
        model_id, is_estimate = pinned_entry, True
    elif served and (reported := find_entry(served)) is not None:
        model_id, is_estimate = reported, False
    else:
        model_id, is_estimate = registry.default_model, True
    entry = registry.models[model_id]
    return ModelSpec(
        id=model_id,
        requested=requested,
        entry=entry,
        token_rules=registry.token_rules[entry.token_rules],
        is_estimate=is_estimate,
    )
