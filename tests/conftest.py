"""Shared fixtures: THE loopback fake OpenAI server of the test run, and connection settings that point at it.

Every test that needs the fake server (unit, AppTest, e2e) uses ``fake_server`` (started once per
run) through ``fake`` (the same server, reset before the test: no queue or recordings, the default
reply, models, mode and API key). Only a test of the fake's own command line starts another one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from playground.connection import ConnectionSettings
from tests.fakes.server import FakeOpenAIServer


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def fake(fake_server: FakeOpenAIServer) -> FakeOpenAIServer:
    """The run's fake server, reset for this test (see the module docstring)."""
    fake_server.reset()
    return fake_server


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
