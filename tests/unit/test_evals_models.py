"""Models the registry does not ship: an operator's TOML file (PLAYGROUND_MODELS_FILE), parameters a
model accepts, and the server's shutdown_date winning over the registry's retirement date."""

from __future__ import annotations

import datetime as dt

import pytest

from playground.client import PlaygroundClient
from playground.costs import batch_tier_for
from playground.evals.variants import Variant
from playground.registry import MODELS_FILE_SETTING, model_ids, resolve_model
from playground.request import ChatParams, validate_params
from tests.fakes.operator_models import OPERATOR_TOML


@pytest.fixture
def operator_file(tmp_path, monkeypatch):
    path = tmp_path / "models.toml"
    path.write_text(OPERATOR_TOML)
    monkeypatch.setenv(MODELS_FILE_SETTING, str(path))
    return path


def test_an_operator_file_adds_a_model_with_its_limits_prices_and_parameters(operator_file):
    assert "reasoner-mini" in model_ids() and "gpt-4.1-mini" in model_ids()
    spec = resolve_model("reasoner-mini-2026-11-01")
    assert spec.id == "reasoner-mini" and not spec.is_estimate and spec.context_window == 400000
    assert not spec.accepts("temperature") and not spec.accepts("top_p") and spec.accepts("reasoning_effort")
    assert batch_tier_for(spec, "openai_standard") == "openai_batch"
    assert resolve_model("gpt-4.1-mini").accepts("temperature")
    assert not resolve_model("gpt-4.1-mini").accepts("reasoning_effort")


def test_a_reasoning_variant_sends_reasoning_effort_and_no_sampling_parameters(operator_file):
    params = ChatParams(temperature=0.2, top_p=0.5, reasoning_effort="low", seed=3)
    reasoning = Variant(id="r", model="reasoner-mini", messages=[{"role": "user", "content": "hi"}], params=params)
    kwargs = reasoning.build_request({}).to_kwargs()
    assert kwargs["reasoning_effort"] == "low" and kwargs["seed"] == 3
    assert "temperature" not in kwargs and "top_p" not in kwargs
    classic = Variant(id="c", model="gpt-4.1-mini", messages=[{"role": "user", "content": "hi"}], params=params)
    kwargs = classic.build_request({}).to_kwargs()
    assert kwargs["temperature"] == 0.2 and "reasoning_effort" not in kwargs
    cost, estimate = reasoning.cost(1_000_000, 0, batch=True)
    assert cost == pytest.approx(0.125) and not estimate
    assert "does not take reasoning_effort 'max'" in " ".join(
        validate_params(ChatParams(reasoning_effort="max"), resolve_model("reasoner-mini"))
    )


def test_a_broken_operator_file_is_named_in_the_error(tmp_path, monkeypatch):
    bad = tmp_path / "bad.toml"
    monkeypatch.setenv(MODELS_FILE_SETTING, str(bad))
    with pytest.raises(ValueError, match="cannot read the file"):
        model_ids()
    bad.write_text(OPERATOR_TOML.replace('token_rules = "o200k_chat"', 'token_rules = "nope"'))
    with pytest.raises(ValueError, match="names token_rules 'nope'"):
        model_ids()
    bad.write_text("[price_tiers.x]\nlabel = 'x'\n")
    with pytest.raises(ValueError, match=r"only \[models\.\*\] tables"):
        model_ids()
    bad.write_text(OPERATOR_TOML.replace("context_window = 400000\n", ""))
    with pytest.raises(ValueError, match="'reasoner-mini' is not valid"):
        model_ids()


def test_the_servers_shutdown_date_wins_over_the_registry(fake, openai_settings):
    fake.models = [
        {"id": "gpt-4.1-mini", "object": "model", "created": 0, "owned_by": "system", "shutdown_date": "2026-12-20"},
        {"id": "other", "object": "model", "created": 0, "owned_by": "system", "shutdown_date": None},
    ]
    listed = {m.id: m.shutdown_date for m in PlaygroundClient(openai_settings).list_model_info()}
    assert listed == {"gpt-4.1-mini": dt.date(2026, 12, 20), "other": None}
    spec = resolve_model("gpt-4.1-mini")
    today = dt.date(2026, 12, 1)
    assert "2027-01-14" in spec.retirement_notice("openai", today=today)
    notice = spec.retirement_notice("openai", today=today, server_shutdown=listed["gpt-4.1-mini"])
    assert "2026-12-20" in notice and "19 days left" in notice
