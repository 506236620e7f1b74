"""The arrows point down: only the entry points assemble, and `db/` knows no feature.

Every module's imports are read with `ast`, those inside functions and `if TYPE_CHECKING:`
blocks included: a lazy import closes a cycle as surely as one at the top of a file.
"""

from __future__ import annotations

import ast
from pathlib import Path

import email_channels

PACKAGE = Path(email_channels.__file__).parent
ROOT = "email_channels"
# The entry points: the app, the CLI, uvicorn's factory, and the composition root they call.
ENTRY_POINTS = frozenset(f"{ROOT}.{name}" for name in ("app", "cli", "asgi", "bootstrap"))
# Packages that are not features: the database, adapters, operations, the worker loop.
INFRASTRUCTURE = frozenset({"db", "observability", "worker", "integrations", "sandbox"})
FEATURES = frozenset(
    path.parent.name
    for path in PACKAGE.glob("*/__init__.py")
    if path.parent.name not in INFRASTRUCTURE
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, *, module: str, is_package: bool = False) -> set[str]:
    """Every module `source` imports, anywhere in it; `from a import b` names `a` and `a.b`."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def modules() -> dict[str, set[str]]:
    """Each module of the package with what it imports."""
    return {
        module_name(path): imported_modules(
            path.read_text(encoding="utf-8"),
            module=module_name(path),
            is_package=path.name == "__init__.py",
        )
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


def test_the_reader_sees_imports_inside_functions_and_type_checking_blocks() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from email_channels.auth.grant_cache import GrantCache\n"
        "def later() -> None:\n"
        "    from email_channels import app\n"
        "    from . import clock\n"
    )
    found = imported_modules(source, module="email_channels.db.engine")
    assert "email_channels.auth.grant_cache" in found
    assert "email_channels.app" in found
    assert "email_channels.db.clock" in found


def test_the_layers_are_all_found() -> None:
    names = modules()
    assert {"auth", "ses_setups", "use_cases", "webhooks", "idempotency"} <= FEATURES
    for package in INFRASTRUCTURE:
        assert any(_within(name, f"{ROOT}.{package}") for name in names), package
    assert names.keys() >= ENTRY_POINTS


def test_no_module_below_the_entry_points_imports_them() -> None:
    offences = [
        f"{module} imports {target}"
        for module, targets in modules().items()
        if module not in ENTRY_POINTS
        for target in sorted(targets)
        if any(_within(target, entry) for entry in ENTRY_POINTS)
    ]
    assert offences == []


def test_db_imports_no_feature() -> None:
    features = [f"{ROOT}.{feature}" for feature in FEATURES]
    offences = [
        f"{module} imports {target}"
        for module, targets in modules().items()
        if _within(module, f"{ROOT}.db")
        for target in sorted(targets)
        if any(_within(target, feature) for feature in features)
    ]
    assert offences == []
