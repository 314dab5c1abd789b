"""Shared fixtures: a loopback fake OpenAI server and connection settings that point at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from playground.connection import ConnectionSettings
from tests.fakes.server import FakeOpenAIServer


@pytest.fixture(scope="session")
def fake_server_session() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def fake(fake_server_session: FakeOpenAIServer) -> FakeOpenAIServer:
    """The session's fake server, reset for this test: no scenarios or recordings, default replies and models."""
    fake_server_session.reset()
    return fake_server_session


@pytest.fixture
def openai_settings(fake: FakeOpenAIServer) -> ConnectionSettings:
    return ConnectionSettings(
        provider="compatible", base_url=fake.base_url, api_key=SecretStr("sk-test-secret-123456"), max_retries=0
    )


@pytest.fixture
def azure_settings(fake: FakeOpenAIServer) -> ConnectionSettings:
    return ConnectionSettings(
        provider="azure",
        azure_endpoint=fake.azure_endpoint,
        api_key=SecretStr("azure-test-key"),
        deployment="my-mini",
        api_version="2024-10-21",
        max_retries=0,
    )
