"""The migrations build the whole schema, agree with the models, and run down and up again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

from irev import create_app
from irev.extensions import db
from irev.models import Meeting
from tests import factories
from tests.conftest import TEST_CONFIG


@pytest.fixture
def empty_app(db_url: str) -> Iterator[Flask]:
    """An app on an empty database: no create_all(), only what the migrations build."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": db_url})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def flask_db(app: Flask, *args: str) -> str:
    """Run `flask db <args>` through the CLI runner; fail with its output if it fails."""
    result = app.test_cli_runner().invoke(args=["db", *args])
    assert result.exit_code == 0, f"flask db {' '.join(args)} failed:\n{result.output}"
    return result.output


def table_names() -> set[str]:
    """Return the tables that exist in the database, Alembic's own table aside."""
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def schema_diff() -> list:
    """Return what autogenerate would change to make the database match the models."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_builds_the_whole_schema_on_an_empty_database(empty_app):
    assert table_names() == set()
    flask_db(empty_app, "upgrade")
    assert table_names() == set(db.metadata.tables)
    assert {"programme", "meeting", "person", "registration", "outbound_email"} <= table_names()


def test_models_and_migrations_agree(empty_app):
    flask_db(empty_app, "upgrade")
    diff = schema_diff()
    assert diff == [], "the models differ from the migrations; run `flask db migrate`:\n" + (
        "\n".join(str(change) for change in diff)
    )


def test_there_is_one_head(empty_app):
    """Two helpers adding revisions in parallel must chain them, not fork the history."""
    config = empty_app.extensions["migrate"].migrate.get_config()
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several heads: {heads}; set down_revision to chain them"


def test_downgrade_to_base_then_upgrade_again(empty_app):
    flask_db(empty_app, "upgrade")
    flask_db(empty_app, "downgrade", "base")
    assert table_names() == set()
    flask_db(empty_app, "upgrade")
    assert table_names() == set(db.metadata.tables)
    assert schema_diff() == []


def test_the_upgraded_schema_takes_rows(empty_app):
    """The migrated tables take rows through the models (types and defaults are right)."""
    flask_db(empty_app, "upgrade")
    meeting = factories.create_meeting(programme=factories.create_programme(slug="p"))
    factories.create_registration(meeting=meeting)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Meeting, meeting.id)
    assert stored.programme.slug == "p"
    assert stored.seats_taken == 1
    assert stored.starts_at.tzinfo is not None
