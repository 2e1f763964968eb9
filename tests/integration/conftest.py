"""Fixtures: a real chatd app on an ephemeral port with real SQLite (see tests/support)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.harness import Harness


@pytest.fixture
def settings() -> dict[str, dict[str, Any]]:
    """Per-test config overrides (override this fixture or mutate it before `chatd` starts)."""
    return {}


@pytest.fixture
async def chatd(tmp_path: Path, settings: dict[str, dict[str, Any]]) -> AsyncIterator[Harness]:
    harness = Harness(tmp_path / "data", settings)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
