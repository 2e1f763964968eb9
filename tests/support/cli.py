"""Run the installed `chatd` command the way a user does, in a directory of the test's choosing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["CHATD", "ROOT", "chatd_env", "run_chatd"]

#: The console script pip installed beside this interpreter: the real entry point.
CHATD = Path(sys.executable).with_name("chatd")
#: The repository (scripts/, README.md).
ROOT = Path(__file__).resolve().parents[2]


def chatd_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the variables that choose chatd's config and data."""
    env = {k: v for k, v in os.environ.items() if k not in ("CHATD_CONFIG", "CHATD_DATA_DIR")}
    env.setdefault("CHATD_SECRET", "test-secret-0123456789abcdef0123456789")
    env.update(extra or {})
    return env


def run_chatd(
    *args: str | Path,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """`chatd ARGS` in ``cwd``; ``env`` adds variables to :func:`chatd_env`."""
    return subprocess.run(
        [str(CHATD), *map(str, args)],
        cwd=cwd,
        env=chatd_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
