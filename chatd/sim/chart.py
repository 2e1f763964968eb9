"""The PNG chart of a run: predicted vs actual wait, and queue length over time.

matplotlib is an optional extra (``pip install chatd[charts]``); it is imported only here and
only when a chart is asked for, so ``chatd simulate --json`` works without it.
"""

from __future__ import annotations

from pathlib import Path

from chatd.sim.engine import SimResult

__all__ = ["ChartsUnavailable", "require_matplotlib", "write_chart"]


class ChartsUnavailable(RuntimeError):
    """matplotlib is not installed."""


def require_matplotlib() -> None:
    """Raise ChartsUnavailable now, before a long run, if matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ChartsUnavailable(
            "charts need matplotlib: install chatd[charts] (pip install 'chatd[charts]')"
        ) from exc


def write_chart(result: SimResult, path: str | Path) -> None:
    """Draw the run's two panels into ``path`` (PNG); ChartsUnavailable without matplotlib."""
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and CI
    import matplotlib.pyplot as plt

    judged = [
        r
        for r in result.customers
        if r.measured and r.estimate_s is not None and r.wait_s is not None
    ]
    figure, (scatter, queue) = plt.subplots(1, 2, figsize=(12, 5))
    scatter.scatter([r.wait_s for r in judged], [r.estimate_s for r in judged], s=4, alpha=0.4)
    top = max([1.0] + [max(r.wait_s or 0.0, r.estimate_s or 0.0) for r in judged])
    scatter.plot([0, top], [0, top], color="grey", linewidth=1, label="estimate = actual")
    scatter.set_xlabel("actual wait (s)")
    scatter.set_ylabel("estimate shown on joining (s)")
    scatter.set_title(f"{result.scenario.name}: predicted vs actual wait")
    scatter.legend()
    hours = [t / 3600.0 for t, _ in result.queue_samples]
    queue.plot(hours, [length for _, length in result.queue_samples])
    queue.set_xlabel("time (h)")
    queue.set_ylabel("customers waiting")
    queue.set_title("queue length")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
