"""The real migrations build exactly the schema of the models, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from email_channels.db.engine import create_engine
from email_channels.db.migrate import alembic_config, migrate
from email_channels.models import Base


def _state(connection: Connection) -> tuple[list[object], str | None]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata)), context.get_current_revision()


async def test_migrated_schema_matches_the_models_and_migrating_again_changes_nothing(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)  # the session already migrated it: this must be a no-op
        async with engine.connect() as connection:
            differences, revision = await connection.run_sync(_state)
    finally:
        await engine.dispose()
    assert differences == []
    assert revision == ScriptDirectory.from_config(alembic_config()).get_current_head()
