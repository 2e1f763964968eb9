"""Loading a bot, and a fitted bot kept on disk so a restart need not train it again.

Fitting the seven-language shipped KB costs about 4 s of CPU (vectorising, the softmax, the
language model); loading a fitted bot costs a few milliseconds. The file is named by a hash of
everything the fit depends on: the knowledge base itself, the matcher settings, the source of
this package and the versions of Python and numpy, so a changed KB or a new release never loads
a stale model.

The file is a pickle, which runs code when loaded: it is written 0600 into a directory created
0700, and a file that another user owns or others may write is ignored (and rebuilt). Anyone
who can write into the cache directory as chatd's user could change chatd itself anyway.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import stat
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot_intents.bot import Bot
from bot_intents.loader import default_kb_paths, load_knowledge_base
from bot_intents.matcher import MatcherConfig
from bot_intents.model import KnowledgeBase

__all__ = ["cache_key", "cached_bot", "load_bot"]

_PACKAGE = Path(__file__).resolve().parent


def cache_key(kb: KnowledgeBase, config: MatcherConfig | None) -> str:
    """A hash of everything a fitted bot depends on."""
    digest = hashlib.sha256()
    digest.update(pickle.dumps(kb, protocol=5))
    digest.update(repr(config or MatcherConfig()).encode())
    for source in sorted(_PACKAGE.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    digest.update(f"{sys.version}|{np.__version__}".encode())
    return digest.hexdigest()[:32]


def _trusted(path: Path) -> bool:
    info = path.stat()
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _load(path: Path) -> Bot | None:
    try:
        if not _trusted(path):
            return None
        with path.open("rb") as fh:
            bot: Any = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError):
        return None
    return bot if isinstance(bot, Bot) else None


def _store(path: Path, bot: Bot) -> None:
    """Write atomically (a reader sees the old file or the whole new one); never fails."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(bot, fh, protocol=5)
        os.replace(tmp, path)
        for old in path.parent.glob("bot-*.pickle"):  # earlier KBs or releases
            if old != path:
                old.unlink(missing_ok=True)


def cached_bot(kb: KnowledgeBase, config: MatcherConfig | None, cache_dir: Path) -> Bot:
    """The bot fitted on ``kb``: from ``cache_dir`` when there, else fitted and stored there."""
    path = cache_dir / f"bot-{cache_key(kb, config)}.pickle"
    bot = _load(path)
    if bot is None:
        bot = Bot(kb, config=config)
        _store(path, bot)
    return bot


def load_bot(
    paths: Sequence[str | Path] | Iterable[str | Path] | None = None,
    *,
    config: MatcherConfig | None = None,
    cache_dir: Path | None = None,
) -> Bot:
    """Load the shipped knowledge base, or the given files/directories, and build a bot.

    ``cache_dir``: keep the fitted bot there and reuse it while nothing it depends on changed
    (see this module's docstring); a restart then loads in milliseconds instead of seconds.
    """
    kb = load_knowledge_base(default_kb_paths() if paths is None else list(paths))
    if cache_dir is not None:
        return cached_bot(kb, config, cache_dir)
    return Bot(kb, config=config)
