"""An operator's models file (PLAYGROUND_MODELS_FILE) with a reasoning model the registry does not
ship: it rejects temperature and top_p and takes a reasoning effort (FACTS 8). Shared by the unit,
AppTest and e2e tests."""

OPERATOR_TOML = """
[models."reasoner-mini"]
label = "Reasoner mini"
snapshot = "reasoner-mini-2026-11-01"
context_window = 400000
max_output_tokens = 128000
encoding = "o200k_base"
token_rules = "o200k_chat"
features = ["tools", "structured_outputs", "streaming"]
parameters = { rejects = ["temperature", "top_p"], reasoning_efforts = ["low", "medium", "high"] }
[models."reasoner-mini".image]
method = "patch"
rule = "fit_then_budget"
patch_size = 32
multiplier = 1.2
max_side = 2048
patch_budget = 1536
legacy_patch_cap = 1536

[models."reasoner-mini".prices]
openai_standard = { input = 0.25, cached_input = 0.025, output = 2.0 }
openai_batch = { input = 0.125, output = 1.0 }
"""
