"""Migration files: date-prefixed, one linear history (the schema itself: test_schema.py)."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from email_channels.db.migrate import MIGRATIONS, alembic_config


def test_revision_files_are_date_prefixed() -> None:
    names = sorted(p.name for p in (MIGRATIONS / "versions").glob("*.py"))
    assert names
    assert all(name[:10].replace("_", "").isdigit() for name in names), names


def test_history_is_linear_with_one_head() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert len(scripts.get_heads()) == 1
    assert len(list(scripts.walk_revisions())) == len(list((MIGRATIONS / "versions").glob("*.py")))
