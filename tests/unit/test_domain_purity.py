"""The pure core stays pure: no module under chatd/domain imports I/O or outer layers."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import chatd.domain

FORBIDDEN_ROOTS = {"asyncio", "aiohttp", "aiosqlite", "asyncpg", "redis", "socket"}
FORBIDDEN_CHATD = ("chatd.store", "chatd.bus", "chatd.service", "chatd.web")


def domain_modules() -> list[str]:
    """Every module of the chatd.domain package, the package itself included."""
    names = ["chatd.domain"]
    names += [
        info.name for info in pkgutil.walk_packages(chatd.domain.__path__, prefix="chatd.domain.")
    ]
    return sorted(names)


def imported_names(module_name: str) -> set[str]:
    """Absolute names of everything a module imports (importing it first, so it must load)."""
    module = importlib.import_module(module_name)
    assert module.__file__ is not None
    path = Path(module.__file__)
    return names_in_source(
        path.read_text(encoding="utf-8"), module_name, is_package=path.name == "__init__.py"
    )


def names_in_source(source: str, module_name: str, *, is_package: bool) -> set[str]:
    """Absolute names imported by ``source``, relative imports resolved against the module."""
    package_parts = module_name.split(".") if is_package else module_name.split(".")[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - (node.level - 1)]
                prefix = ".".join([*base, node.module] if node.module else base)
            else:
                prefix = node.module or ""
            names.add(prefix)
            # "from chatd import store" imports chatd.store: keep the submodule form too.
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            names.update(
                arg.value
                for arg in node.args[:1]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            )
    return names


def forbidden(name: str) -> bool:
    root = name.split(".", 1)[0]
    return root in FORBIDDEN_ROOTS or any(
        name == outer or name.startswith(outer + ".") for outer in FORBIDDEN_CHATD
    )


def test_the_domain_package_has_modules() -> None:
    """The walk finds the domain modules, so the purity test is not vacuous."""
    assert {"chatd.domain.queue", "chatd.domain.dispatch"} <= set(domain_modules())


@pytest.mark.parametrize("module_name", domain_modules())
def test_domain_module_imports_no_io(module_name: str) -> None:
    """The module imports no asyncio, network, storage or outer chatd layer."""
    bad = sorted(name for name in imported_names(module_name) if forbidden(name))
    assert not bad, f"{module_name} imports {bad}"


@pytest.mark.parametrize(
    "source",
    [
        "import asyncio",
        "import socket as s",
        "from aiohttp import web",
        "from ..store import sqlite",
        "from .. import bus",
        "from chatd import service",
        "from chatd.web.app import make_app",
        "def f():\n    import redis.asyncio",
        "__import__('aiosqlite')",
    ],
)
def test_checker_catches_every_import_form(source: str) -> None:
    """The checker sees plain, aliased, relative, nested and dynamic imports."""
    names = names_in_source(source, "chatd.domain.example", is_package=False)
    assert any(forbidden(name) for name in names), names


def test_checker_allows_the_core_and_lookalikes() -> None:
    """Imports inside the core and names that merely start alike are allowed."""
    names = names_in_source(
        "from . import queue\nfrom chatd.domain.routing import x\nimport chatd.webhooks",
        "chatd.domain.example",
        is_package=False,
    )
    assert names and not any(forbidden(name) for name in names)
    assert forbidden("chatd.store")
    assert forbidden("chatd.web.app")
    assert forbidden("asyncio.tasks")
    assert not forbidden("chatd.domain.queue")
    assert not forbidden("chatd.webhooks")
