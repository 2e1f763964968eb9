"""Mutation testing of chatd with mutmut: which small bugs does the suite let through?

    .venv/bin/python scripts/mutation.py domain              # chatd/domain/ against tests/unit
    .venv/bin/python scripts/mutation.py security            # chatd/web/security.py, real server
    .venv/bin/python scripts/mutation.py domain "chatd.domain.wait*"   # some mutants only
    .venv/bin/python scripts/mutation.py domain --max-children 1 ...  # one worker (shared machine)
    .venv/bin/python scripts/mutation.py against domain NAME tests/unit/test_x.py  # one mutant

Each target runs in its own directory, ``.mutation/<target>/`` (kept, so a second run only
re-tests what changed), holding a copy of pyproject.toml whose ``[tool.mutmut]`` section is the
target's: mutmut reads its settings from the pyproject.toml of the directory it runs in, and
the two targets need different tests (the pure core is killed by unit tests in milliseconds;
the web security module only by a server). Afterwards it prints the score and every surviving
mutant's name; ``mutmut show NAME`` (run in that directory) prints a mutant's diff.
docs/testing.md has the figures and why each survivor is harmless or which test kills it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: What each target mutates and which tests may kill its mutants. mutmut runs, for each mutant,
#: only the selected tests that executed the mutated function (it records that once per run).
TARGETS: dict[str, dict[str, list[str]]] = {
    "domain": {
        "only_mutate": ["chatd/domain/*"],
        "pytest_add_cli_args_test_selection": [
            "tests/unit/test_business_hours.py",
            "tests/unit/test_connection_limits.py",
            "tests/unit/test_delivery.py",
            "tests/unit/test_dispatch.py",
            "tests/unit/test_dispatch_details.py",
            "tests/unit/test_erlang.py",
            "tests/unit/test_handoff.py",
            "tests/unit/test_language_codes.py",
            "tests/unit/test_mail_texts.py",
            "tests/unit/test_masking_entry.py",
            "tests/unit/test_masks.py",
            "tests/unit/test_notices_stats.py",
            "tests/unit/test_queue.py",
            "tests/unit/test_ratelimit.py",
            "tests/unit/test_redact.py",
            "tests/unit/test_redact_cards.py",
            "tests/unit/test_redact_edges.py",
            "tests/unit/test_redact_hex_edges.py",
            "tests/unit/test_redact_linear.py",
            "tests/unit/test_redact_seed_edges.py",
            "tests/unit/test_role_sets.py",
            "tests/unit/test_routing.py",
            "tests/unit/test_signin.py",
            "tests/unit/test_simulate.py",
            "tests/unit/test_wait.py",
            "tests/unit/test_wait_details.py",
            # A 40-second statistical check (the simulated M/M/c mean wait against Erlang C)
            # would run for every surviving mutant of the queue, dispatch and wait modules.
            "-k",
            "not test_mmc_mean_wait_matches_erlang_c",
        ],
    },
    "security": {
        "only_mutate": ["chatd/web/security.py"],
        "pytest_add_cli_args_test_selection": [
            "tests/integration/test_hardening.py::TestOrigins",
            "tests/integration/test_hardening.py::TestTrustedProxy",
            "tests/integration/test_hardening.py::test_security_headers",
            "tests/integration/test_hardening.py::test_operator_routes_reject_agents_and_customers",
            "tests/integration/test_hardening.py::test_malformed_http_parameters_get_4xx_json",
            "tests/integration/test_flow.py::TestMetricsAccess",
            "tests/integration/test_flow.py::test_metrics_and_health",
            "tests/integration/test_connection_slots.py",
            "tests/integration/test_edge_security.py",
            "tests/integration/test_abuse_limits.py::test_hostile_http_inputs_are_4xx_not_500",
            "tests/integration/test_static.py",
        ],
    },
}

#: Copied beside the mutated package: what the tests import or read.
ALSO_COPY = ["bot_intents/", "web_widget/", "docs/", "PROTOCOL.md", "README.md"]


def _pyproject_for(target: str) -> str:
    """The repository's pyproject.toml with the target's [tool.mutmut] section."""
    text = (ROOT / "pyproject.toml").read_text()
    text = re.sub(r"\n\[tool\.mutmut\]\n(?:(?!\n\[).)*", "\n", text, flags=re.S)
    settings = {
        "source_paths": ["chatd/"],
        "also_copy": ALSO_COPY,
        # Run with the project's pytest settings but without its -q (mutmut reads the output).
        "pytest_add_cli_args": ["-p", "no:cacheprovider"],
        **TARGETS[target],
    }
    lines = ["", "[tool.mutmut]"] + [
        f"{key} = {json.dumps(value)}" for key, value in settings.items()
    ]
    return text.rstrip("\n") + "\n" + "\n".join(lines) + "\n"


def _prepare(target: str) -> Path:
    workdir = ROOT / ".mutation" / target
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ["chatd", "tests", *(p.rstrip("/") for p in ALSO_COPY)]:
        link = workdir / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name)
    (workdir / "pyproject.toml").write_text(_pyproject_for(target))
    return workdir


def _summary(workdir: Path, env: dict[str, str]) -> int:
    """Print the score and the survivors; the number of survivors."""
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    statuses: dict[str, list[str]] = {}
    for line in out.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            statuses.setdefault(status, []).append(name)
    killed = len(statuses.get("killed", []))
    total = sum(len(names) for names in statuses.values())
    print({status: len(names) for status, names in sorted(statuses.items())})
    if total:
        print(f"score: {killed}/{total} killed ({100 * killed / total:.1f}%)")
    for status, names in sorted(statuses.items()):
        if status != "killed":
            print(f"-- {status}:")
            for name in names:
                print(f"   {name}")
    return total - killed


def against(target: str, name: str, tests: list[str]) -> int:
    """Run ``tests`` (pytest arguments) against one mutant of a finished or running run.

    The mutated tree's ``chatd`` is imported before pytest starts, so every ``chatd`` module the
    tests import comes from it, whatever pytest puts on ``sys.path`` afterwards; the tests are
    the repository's (a test written after the run can be checked against its survivors).
    Exit status 0: the mutant survived these tests.
    """
    tree = ROOT / ".mutation" / target / "mutants"
    if not (tree / "chatd").is_dir():
        print(f"no mutated tree in {tree}: run scripts/mutation.py {target} first")
        return 2
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import chatd; sys.path.pop(0); "
        "import pytest; "
        "sys.exit(pytest.main(['-x', '-q', '-p', 'no:cacheprovider', *sys.argv[2:]]))"
    )
    env = {**os.environ, "MUTANT_UNDER_TEST": name, "PYTHONDONTWRITEBYTECODE": "1"}
    args = [sys.executable, "-c", code, str(tree), *tests]
    return subprocess.run(args, cwd=ROOT, env=env).returncode


def main(argv: list[str]) -> int:
    if len(argv) >= 4 and argv[0] == "against" and argv[1] in TARGETS:
        return against(argv[1], argv[2], argv[3:])
    if not argv or argv[0] not in TARGETS:
        targets = ",".join(TARGETS)
        print(f"usage: scripts/mutation.py {{{targets}}} [--max-children N] [mutant-glob ...]")
        return 2
    target, args = argv[0], argv[1:]
    workdir = _prepare(target)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run([sys.executable, "-m", "mutmut", "run", *args], cwd=workdir, env=env)
    if run.returncode != 0:
        return run.returncode
    _summary(workdir, env)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
