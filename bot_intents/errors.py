"""Errors raised by bot_intents.

The hierarchy is one class deep::

    KnowledgeBaseError(ValueError)   a KB file is unreadable or invalid; names file, intent, key

``Bot.reply`` never raises for any ``str``; only loading can fail.
"""

from __future__ import annotations

__all__ = ["KnowledgeBaseError"]


class KnowledgeBaseError(ValueError):
    """A knowledge-base file failed to load or validate.

    ``file``, ``intent`` and ``key`` locate the problem (``intent``/``key`` may be ``None`` when
    the whole file is at fault); the message repeats them so a log line is enough to fix it.
    """

    def __init__(
        self, message: str, *, file: str, intent: str | None = None, key: str | None = None
    ) -> None:
        """Build the error and a message of the form ``file: intent 'x': key 'y': message``."""
        self.file = file
        self.intent = intent
        self.key = key
        self.reason = message
        where = [file]
        if intent is not None:
            where.append(f"intent {intent!r}")
        if key is not None:
            where.append(f"key {key!r}")
        super().__init__(": ".join([*where, message]))
