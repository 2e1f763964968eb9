"""Entry point for ``python -m bot_intents``."""

from __future__ import annotations

import sys

from bot_intents.cli import main

if __name__ == "__main__":
    sys.exit(main())
