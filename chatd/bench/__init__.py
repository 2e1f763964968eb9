"""`chatd bench`: chatd measured under load beside a raw WebSocket ceiling, in the same run.

Each scenario starts a real chatd server process (SQLite, persistence on) and a baseline process
(:mod:`chatd.bench.baseline`: aiohttp WebSockets doing the same transport work with no chat logic
and no storage), drives both with the same `websockets` load from separate worker processes
(:mod:`chatd.bench.worker`), and reports chatd's figures, the baseline's and their ratio.
Everything listens on 127.0.0.1, every loop is bounded in count and wall time, and every process
started is stopped by its PID.

Modules: ``procs`` (start, measure and stop processes), ``baseline`` (the raw server), ``serve``
(chatd's server entry with uvloop and raised file limits), ``clients`` (lean load clients),
``worker`` (load-process entry), ``scenarios`` / ``surge`` (the scenarios) and ``cli``.
"""

__all__: list[str] = []
