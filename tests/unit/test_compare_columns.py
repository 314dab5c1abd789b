"""The pieces of a Compare column: which parameter controls a model gets (and the closed label that
never claims a temperature the model will not get), the operator's named connections, and a
variant on a second connection that is sent there and priced from its own entry (or not at all)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from playground.client import PlaygroundClient
from playground.connection import ConnectionSettings, named_connections
from playground.errors import PlaygroundError
from playground.evals import ClientCompleter, stream_side_by_side
from playground.evals.setups import variant_for_column
from playground.registry import MODELS_FILE_SETTING, resolve_model
from playground.request import FORM_PARAMETERS, ChatParams, parameter_controls, params_for_model, params_summary
from playground.workspace import Workspace
from tests.fakes.operator_models import OPERATOR_TOML
from tests.fakes.server import Scenario


@pytest.fixture
def operator_file(tmp_path, monkeypatch):
    path = tmp_path / "models.toml"
    path.write_text(OPERATOR_TOML)
    monkeypatch.setenv(MODELS_FILE_SETTING, str(path))
    return path


# --- the parameters form ------------------------------------------------------------------------
def test_a_classic_model_gets_every_sampling_control_and_no_reasoning_effort():
    controls = parameter_controls(resolve_model("gpt-4.1-mini"))
    assert controls.shown == FORM_PARAMETERS and controls.hidden == ()
    assert not controls.shows("reasoning_effort") and controls.hidden_note() is None


def test_a_reasoning_model_hides_what_it_rejects_and_names_it(operator_file):
    controls = parameter_controls(resolve_model("reasoner-mini"))
    assert controls.hidden == ("temperature", "top_p")
    assert not controls.shows("temperature") and not controls.shows("top_p")
    assert controls.shows("seed") and controls.shows("max_completion_tokens")
    assert controls.shows("reasoning_effort") and controls.reasoning_efforts == ("low", "medium", "high")
    assert controls.hidden_note() == "reasoner-mini does not take temperature, top_p."


def test_the_closed_label_never_claims_a_temperature_the_model_will_not_get(operator_file):
    params = ChatParams(temperature=0.4, reasoning_effort="high", max_completion_tokens=1000)
    assert params_summary(params, resolve_model("gpt-4.1-mini")) == "temperature 0.4 · max tokens 1,000"
    reasoning = params_summary(params, resolve_model("reasoner-mini"))
    assert reasoning == "reasoning effort high · max tokens 1,000" and "temperature" not in reasoning
    assert params_summary(ChatParams(), resolve_model("reasoner-mini")) == (
        "reasoning effort default · max tokens model default"
    )


def test_a_model_that_rejects_max_tokens_is_sent_none(tmp_path, monkeypatch):
    path = tmp_path / "models.toml"
    path.write_text(OPERATOR_TOML.replace('rejects = ["temperature", "top_p"]', 'rejects = ["max_completion_tokens"]'))
    monkeypatch.setenv(MODELS_FILE_SETTING, str(path))
    spec = resolve_model("reasoner-mini")
    assert params_for_model(ChatParams(max_completion_tokens=50), spec).max_completion_tokens is None
    assert "max_completion_tokens" in parameter_controls(spec).hidden
    assert "max tokens" not in params_summary(ChatParams(), spec)


# --- named connections ----------------------------------------------------------------------------
SECRETS = {
    "openai": {"api_key": "sk-main"},
    "connections": {
        "azure-eu": {
            "endpoint": "https://eu.openai.azure.com",
            "api_key": "az-key",
            "deployment": "mini-eu",
            "api_version": "2025-04-01-preview",
            "registry_entry": "gpt-4.1-mini",
            "deployment_type": "standard",
        },
        "local": {"base_url": "http://localhost:8000/v1", "model": "qwen3"},
        "openai-team": {"api_key_env": "TEAM_KEY", "model": "gpt-4.1-nano"},
        "typo": {"endpont": "https://x"},
        "bad-type": {"endpoint": "https://x", "deployment_type": "huge"},
        "bad-entry": {"base_url": "http://h/v1", "registry_entry": "gpt-9"},
    },
}


def test_named_connections_are_parsed_like_the_top_level_tables_and_locked():
    found, problems = named_connections({"TEAM_KEY": "sk-team", "OPENAI_API_KEY": "sk-env"}, SECRETS)
    assert sorted(found) == ["azure-eu", "local", "openai-team"]
    azure = found["azure-eu"]
    assert (azure.provider, azure.azure_endpoint, azure.deployment, azure.key) == (
        "azure",
        "https://eu.openai.azure.com",
        "mini-eu",
        "az-key",
    )
    assert azure.api_version == "2025-04-01-preview" and azure.registry_entry == "gpt-4.1-mini"
    assert azure.azure_deployment_type == "standard" and azure.request_model == "mini-eu"
    local = found["local"]
    assert local.provider == "compatible" and local.model == "qwen3" and local.key == ""
    team = found["openai-team"]
    assert team.provider == "openai" and team.key == "sk-team" and team.model == "gpt-4.1-nano"
    # Operator policy: used as configured; the environment's own key never leaks into a named one.
    assert all(settings.locked for settings in found.values())
    assert len(problems) == 3 and "[connections.typo]" in problems[0] and "endpont" in problems[0]
    assert "deployment_type must be one of" in problems[1] and "'gpt-9' is not in the model registry" in problems[2]


def test_named_connections_follow_the_link_local_policy_and_refuse_a_bad_provider():
    secrets = {"playground": {"allow_link_local": True}, "connections": {"x": {"provider": "bedrock"}, "y": {}}}
    found, problems = named_connections({}, secrets)
    assert list(found) == ["y"] and found["y"].allow_link_local
    assert "provider must be one of" in problems[0]
    assert named_connections({}, {}) == ({}, [])
    assert named_connections({}, {"connections": "nope"})[0] == {}


# --- a variant on a second connection ---------------------------------------------------------------
def test_a_column_on_a_second_connection_is_sent_there_and_priced_from_its_entry(fake, openai_settings, azure_settings):
    setup = Workspace(connection=openai_settings, system_prompt="Be brief.", price_tier="openai_priority")
    azure = variant_for_column(
        setup,
        variant_id="col2",
        label="azure",
        connection="azure-eu",
        settings=azure_settings,
        model="mini-eu",
        registry_entry="gpt-4.1-mini",
        params=ChatParams(temperature=0.3, seed=7),
        next_message="Hi {{name}}",
    )
    assert (azure.connection, azure.provider, azure.model, azure.price_tier) == ("azure-eu", "azure", "mini-eu", None)
    assert azure.tier() == "azure_global" and azure.params.seed == 7
    price, estimate = azure.price()
    assert price is not None and price.input == 0.40 and estimate  # gpt-4.1-mini's figures, labelled
    own = variant_for_column(
        setup,
        variant_id="col1",
        label="own",
        connection="default",
        settings=openai_settings,
        model="gpt-4.1-nano",
        registry_entry=None,
        params=ChatParams(),
        next_message="Hi {{name}}",
    )
    assert own.price_tier == "openai_priority" and own.provider == "compatible"
    fake.enqueue(Scenario(text="one"), Scenario(text="two"))
    completer = ClientCompleter(
        {"default": PlaygroundClient(openai_settings), "azure-eu": PlaygroundClient(azure_settings)}
    )
    updates = [u for u in stream_side_by_side([own, azure], {"name": "Ana"}, completer) if u.done]
    assert all(update.error is None for update in updates)
    by_path = {request.path: request for request in fake.chat_requests()}
    assert set(by_path) == {"/v1/chat/completions", "/openai/deployments/my-mini/chat/completions"}
    sent = by_path["/openai/deployments/my-mini/chat/completions"]
    assert sent.headers["api-key"] == "azure-test-key" and sent.json["temperature"] == 0.3 and sent.json["seed"] == 7
    assert by_path["/v1/chat/completions"].json["model"] == "gpt-4.1-nano"


def test_a_model_with_no_registry_entry_has_an_unknown_cost_not_zero(openai_settings):
    setup = Workspace(connection=openai_settings)
    variant = variant_for_column(
        setup,
        variant_id="c",
        label="c",
        connection="default",
        settings=openai_settings,
        model="mystery-model-9",
        registry_entry=None,
        params=ChatParams(),
    )
    assert variant.cost(1000, 1000) == (None, True)
    from components import format as fmt

    assert fmt.cost(None, True) == "unknown" and fmt.cost(0.5, True) == "$0.50 est." and fmt.cost(0.0) == "$0"


def test_a_second_connection_that_is_not_set_up_sends_nothing(fake, openai_settings):
    setup = Workspace(connection=openai_settings)
    own = variant_for_column(
        setup,
        variant_id="own",
        label="own",
        connection="default",
        settings=openai_settings,
        model="gpt-4.1-mini",
        registry_entry=None,
        params=ChatParams(),
        next_message="hi",
    )
    gone = variant_for_column(
        Workspace(connection=openai_settings),
        variant_id="c",
        label="gone",
        connection="removed",
        settings=ConnectionSettings(api_key=SecretStr("k")),
        model="gpt-4.1-mini",
        registry_entry=None,
        params=ChatParams(),
        next_message="hi",
    )
    completer = ClientCompleter({"default": PlaygroundClient(openai_settings)})
    with pytest.raises(PlaygroundError, match="'removed', which is not set up"):
        next(stream_side_by_side([own, gone], {}, completer))
    assert fake.chat_requests() == []  # side by side: nothing is sent when a column cannot be


def test_the_chat_request_carries_only_what_the_model_accepts(operator_file, openai_settings):
    params = ChatParams(temperature=0.3, top_p=0.5, reasoning_effort="low")
    classic = Workspace(connection=openai_settings.model_copy(update={"model": "gpt-4.1-mini"}), params=params)
    kwargs = classic.build_request().to_kwargs()  # the kept effort does not block a model without one
    assert kwargs["temperature"] == 0.3 and "reasoning_effort" not in kwargs
    reasoning = Workspace(connection=openai_settings.model_copy(update={"model": "reasoner-mini"}), params=params)
    kwargs = reasoning.build_request().to_kwargs()
    assert kwargs["reasoning_effort"] == "low" and "temperature" not in kwargs and "top_p" not in kwargs
    assert reasoning.params.temperature == 0.3  # kept for a model that takes it


# --- a connection the user adds for the session -----------------------------------------------------
def test_a_visitor_connection_follows_the_operators_policy(openai_settings):
    from playground.providers import visitor_connection

    server = ConnectionSettings(provider="openai", api_key=SecretStr("sk-operator"))
    typed = ConnectionSettings(provider="compatible", base_url="http://127.0.0.1:9/v1", model="m")
    added = visitor_connection(typed, server)
    assert added.key == "" and not added.locked  # the operator's key never goes to a typed address
    same_endpoint = visitor_connection(ConnectionSettings(provider="openai", model="gpt-4.1-nano"), server)
    assert same_endpoint.key == "sk-operator"  # its own endpoint: the server key may be used
    with pytest.raises(PlaygroundError, match="link-local or cloud-metadata"):
        visitor_connection(typed.model_copy(update={"base_url": "http://169.254.169.254/v1"}), server)
    allowed = visitor_connection(
        typed.model_copy(update={"base_url": "http://169.254.169.254/v1"}),
        server.model_copy(update={"allow_link_local": True}),
    )
    assert allowed.allow_link_local
    with pytest.raises(PlaygroundError, match="operator fixed the connections"):
        visitor_connection(typed, server.model_copy(update={"locked": True}))
    with pytest.raises(PlaygroundError, match="the server's base URL"):
        visitor_connection(ConnectionSettings(provider="compatible", model="m"), server)


def test_the_example_secrets_named_connections_parse():
    import tomllib
    from pathlib import Path

    example = (Path(__file__).resolve().parents[2] / ".streamlit/secrets.toml.example").read_text()
    start = example.index("# [connections.azure-eu]")
    block = example[start : example.find("\n\n", start)]  # the example's tables, up to the next paragraph
    uncommented = "\n".join(line.removeprefix("# ") for line in block.splitlines())
    found, problems = named_connections({"AZURE_EU_KEY": "k"}, tomllib.loads(uncommented))
    assert problems == [] and sorted(found) == ["azure-eu", "local"]
    assert found["azure-eu"].key == "k" and found["local"].provider == "compatible"
