"""Shared fixtures for bot_intents tests: the default bot is built once per session."""

from __future__ import annotations

import pytest

from bot_intents import Bot, load_bot


@pytest.fixture(scope="session")
def bot() -> Bot:
    """The bot over the shipped knowledge base."""
    return load_bot()
