"""Fixtures for the model-provider tests: the local LLM server and a router pointed at it.

The server (``llm_server.py``) starts on a free 127.0.0.1 port for each test
and is stopped in ``finally``; the router uses the real ``anthropic`` and
``openai`` SDK clients with ``base_url`` set to it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

pytest.importorskip("anthropic", reason="the model tests need the anthropic SDK: pip install 'composable-agents[anthropic]'")
pytest.importorskip("openai", reason="the model tests need the openai SDK: pip install 'composable-agents[openai]'")

from llm_server import LLMServer

from composable_agents.integrations.models import AnthropicProvider, OpenAIProvider, Router, router


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """A started local LLM server (both APIs), stopped after the test."""
    server = LLMServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def llm(llm_server: LLMServer) -> Router:
    """``router()`` with both providers pointed at :func:`llm_server`."""
    return router(
        anthropic=AnthropicProvider(api_key="test-key", base_url=llm_server.anthropic_url),
        openai=OpenAIProvider(api_key="test-key", base_url=llm_server.openai_url),
    )
