import os
import subprocess
import sys

from playground.tokens import TokenCounter, count_chat_tokens, get_encoding

CORPORATE_JARGON = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English.",  # noqa: E501
    },
    {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
    {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage.",  # noqa: E501
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the client deliverable.",
    },
]

WEATHER_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                    "unit": {
                        "type": "string",
                        "description": "The unit of temperature to return",
                        "enum": ["celsius", "fahrenheit"],
                    },
                },
                "required": ["location"],
            },
        },
    }
]
WEATHER_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant that can answer to questions about the weather."},
    {"role": "user", "content": "What's the weather like in San Francisco?"},
]


def test_cookbook_corporate_jargon_vector_is_124():
    assert count_chat_tokens(CORPORATE_JARGON) == 124


def test_cookbook_weather_tools_vector_is_101():
    assert count_chat_tokens(WEATHER_MESSAGES, tools=WEATHER_TOOLS) == 101


def test_snapshot_and_fine_tune_names_use_o200k_rules():
    assert count_chat_tokens(CORPORATE_JARGON, model="gpt-4.1-mini-2025-04-14") == 124
    assert count_chat_tokens(CORPORATE_JARGON, model="ft:gpt-4.1-mini-2025-04-14:acme::abc") == 124
    # An Azure deployment name is unknown to tiktoken; it must not raise KeyError.
    assert count_chat_tokens(CORPORATE_JARGON, model="my-azure-deployment") == 124


def test_text_parts_of_multimodal_content_are_counted():
    plain = [{"role": "user", "content": "Describe this picture"}]
    parts = [{"role": "user", "content": [{"type": "text", "text": "Describe this picture"}]}]
    assert count_chat_tokens(parts) == count_chat_tokens(plain)


def test_encoding_loads_with_no_network(tmp_path):
    """A fresh process with an empty tiktoken cache and no route out must still count tokens."""
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(tmp_path), "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    code = "from playground.tokens import get_encoding; print(len(get_encoding().encode('hello world')))"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"
    assert len(list(tmp_path.iterdir())) == 1  # tiktoken's own cache file, seeded from the shipped ranks


def test_counter_counts_each_text_once():
    counter = TokenCounter()
    text = "word " * 1000
    assert counter.count(text) == len(get_encoding().encode(text))
    assert len(counter) == 1
    counter.count(text)
    assert len(counter) == 1


def test_special_token_text_is_counted_not_rejected():
    # Users paste anything; "<|endoftext|>" must be counted as text, not raise.
    assert count_chat_tokens([{"role": "user", "content": "<|endoftext|>"}]) > 7
