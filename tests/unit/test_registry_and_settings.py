import datetime as dt

import pytest
from pydantic import SecretStr

from playground.connection import ConnectionSettings, settings_from_sources
from playground.costs import price_for, request_cost
from playground.registry import Price, load_registry, resolve_model
from playground.request import ChatParams, ChatRequest, validate_params
from playground.workspace import Workspace


def test_default_model_matches_facts():
    spec = resolve_model(None)
    assert spec.id == "gpt-4.1-mini" and spec.entry.snapshot == "gpt-4.1-mini-2025-04-14"
    assert spec.context_window == 1_047_576 and spec.max_output_tokens == 32_768
    standard = spec.price("openai_standard")
    assert (standard.input, standard.cached_input, standard.output) == (0.40, 0.10, 1.60)
    assert spec.price("azure_data_zone").input == 0.44


def test_every_model_prices_every_tier_it_names():
    registry = load_registry()
    for entry in registry.models.values():
        assert set(entry.prices) <= set(registry.price_tiers)
    assert {"gpt-4.1", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini"} <= set(registry.models)


def test_unknown_names_fall_back_and_are_estimates():
    assert resolve_model("my-deployment").is_estimate
    assert not resolve_model("gpt-4o-mini-2024-07-18").is_estimate
    pinned = resolve_model("my-deployment", pinned_entry="gpt-4o")
    assert pinned.id == "gpt-4o" and pinned.is_estimate


def test_retirement_warning_near_and_past_the_date():
    spec = resolve_model("gpt-4.1-mini")
    assert "retired" in spec.retirement_notice("azure", today=dt.date(2026, 11, 1))
    assert "days left" in spec.retirement_notice("openai", today=dt.date(2026, 12, 1))
    assert spec.retirement_notice("openai", today=dt.date(2025, 6, 1)) is None


def test_azure_deployment_type_caps_the_window():
    workspace = Workspace(
        connection=ConnectionSettings(provider="azure", deployment="d", azure_deployment_type="standard")
    )
    assert workspace.model_spec().context_window == 128_000


@pytest.mark.parametrize(
    ("prompt", "cached", "completion", "expected"),
    [(1_000_000, 0, 0, 0.40), (1_000_000, 1_000_000, 0, 0.10), (1_000_000, 250_000, 1_000_000, 0.30 + 0.025 + 1.60)],
)
def test_cached_tokens_are_not_charged_twice(prompt, cached, completion, expected):
    assert request_cost(Price(input=0.40, cached_input=0.10, output=1.60), prompt, completion, cached) == pytest.approx(
        expected
    )


def test_tier_without_cache_discount_charges_cached_as_input():
    batch = resolve_model("gpt-4.1-mini").price("openai_batch")
    assert request_cost(batch, 1_000_000, 0, 500_000) == pytest.approx(0.20)


def test_session_price_override_wins():
    spec = resolve_model("gpt-4.1-mini")
    override = Price(input=1.0, output=2.0)
    assert price_for(spec, "openai_standard", {"gpt-4.1-mini": override}) is override


def test_parameter_bounds_come_from_the_registry():
    spec = resolve_model("gpt-4.1-mini")
    assert validate_params(ChatParams(), spec) == []
    problems = validate_params(
        ChatParams(temperature=2.5, top_p=-0.1, presence_penalty=3, max_completion_tokens=40_000, stop=list("abcde")),
        spec,
    )
    assert len(problems) == 5
    assert any("32,768" in problem for problem in problems)


def test_request_omits_defaults_and_prefers_schema_over_json_object():
    request = ChatRequest(
        model="m",
        messages=[],
        params=ChatParams(response_format="json_object"),
        response_format={"type": "json_schema"},
    )
    kwargs = request.to_kwargs()
    assert kwargs["response_format"] == {"type": "json_schema"}
    assert "temperature" not in kwargs and kwargs["store"] is False


def test_settings_from_environment_openai_compatible_and_azure():
    openai = settings_from_sources({"OPENAI_API_KEY": "sk-1"})
    assert openai.provider == "openai" and openai.key == "sk-1" and not openai.missing()
    local = settings_from_sources({"OPENAI_BASE_URL": "http://localhost:8000/v1"})
    assert local.provider == "compatible" and not local.missing()
    azure = settings_from_sources(
        {"AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com", "AZURE_OPENAI_API_KEY": "k", "OPENAI_API_VERSION": "v"}
    )
    assert (azure.provider, azure.api_version, azure.azure_auth) == ("azure", "v", "api_key")
    assert azure.missing() == ["the deployment name"]


def test_secrets_tables_take_precedence_over_environment():
    settings = settings_from_sources(
        {"OPENAI_API_KEY": "from-env"}, {"openai": {"api_key": "from-secrets", "model": "gpt-4o-mini"}}
    )
    assert settings.key == "from-secrets" and settings.model == "gpt-4o-mini"


def test_key_never_shows_in_repr_or_dump():
    settings = ConnectionSettings(api_key=SecretStr("sk-very-secret"))
    assert "sk-very-secret" not in repr(settings)
    assert "sk-very-secret" not in settings.model_dump_json()
    assert "sk-very-secret" not in repr(Workspace(connection=settings))


def test_workspace_reuses_its_client_until_settings_change():
    workspace = Workspace(connection=ConnectionSettings(api_key=SecretStr("a")))
    first = workspace.client()
    assert workspace.client() is first
    workspace.connection = workspace.connection.model_copy(update={"api_key": SecretStr("b")})
    assert workspace.client() is not first


def test_server_key_only_applies_at_the_endpoint_it_was_configured_for():
    from playground.providers import may_use_server_key

    server = settings_from_sources({"OPENAI_API_KEY": "sk-op", "OPENAI_BASE_URL": "http://llm.internal:8000/v1"})
    assert may_use_server_key(server.model_copy(update={"api_key": None}), server)
    assert may_use_server_key(server.model_copy(update={"base_url": "http://llm.internal:8000/v1/"}), server)
    assert not may_use_server_key(server.model_copy(update={"base_url": "http://attacker.example/v1"}), server)
    assert not may_use_server_key(server.model_copy(update={"provider": "openai", "base_url": ""}), server)
    azure = settings_from_sources({"AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com", "AZURE_OPENAI_API_KEY": "k"})
    assert may_use_server_key(azure, azure)
    assert not may_use_server_key(azure.model_copy(update={"azure_endpoint": "https://evil.openai.azure.com"}), azure)
    assert not may_use_server_key(ConnectionSettings(), ConnectionSettings())  # no server key at all


def test_lock_comes_from_environment_or_secrets():
    assert settings_from_sources({"PLAYGROUND_LOCK_CONNECTION": "1"}).locked
    assert settings_from_sources({}, {"playground": {"lock_connection": True}}).locked
    assert not settings_from_sources({"PLAYGROUND_LOCK_CONNECTION": "0"}).locked
