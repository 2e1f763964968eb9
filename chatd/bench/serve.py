"""``python -m chatd.bench.serve``: the chatd server under test, as ``chatd serve`` runs it.

The only differences from ``chatd serve``: the open-files soft limit is raised to the hard limit
(10,000 customers need 10,000 descriptors) and the event loop can be uvloop. The application,
storage and configuration are the real ones. As under ``chatd serve --workers N``, a process
started with ``CHATD_WORKER`` set binds with SO_REUSEPORT, so several can share the port.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from chatd.bench.procs import install_loop, raise_nofile

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run chatd until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m chatd.bench.serve")
    parser.add_argument("--config", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    args = parser.parse_args(argv)
    raise_nofile()
    install_loop(args.loop)
    from chatd.cli import serve
    from chatd.config import load_config

    overrides = {"server": {"data_dir": args.data_dir, "host": "127.0.0.1", "port": args.port}}
    config = load_config(args.config, overrides=overrides)
    return serve(config, reuse_port=bool(os.environ.get("CHATD_WORKER")))


if __name__ == "__main__":
    raise SystemExit(main())
