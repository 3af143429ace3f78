from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from heron.store.db import MIGRATIONS, Database
from heron.store.models import Base


def test_migrations_build_exactly_the_tables_the_models_describe(database_url: str):
    database = Database(database_url)
    database.migrate()
    with database.engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection), Base.metadata
        )
    database.dispose()
    assert differences == []


def test_migrating_twice_leaves_the_database_at_the_head_revision(database_url: str):
    database = Database(database_url)
    database.migrate()
    database.migrate()
    with database.engine.connect() as connection:
        revisions = MigrationContext.configure(connection).get_current_heads()
    database.dispose()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"the migrations have several heads: {heads}"
    assert revisions == tuple(heads)


def test_link_domains_of_messages_stored_before_are_filled_in(database_url: str):
    import json

    from alembic import command
    from sqlalchemy import text

    database = Database(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        facts = {"urls": [{"host": "login.evil.test"}, {"host": "cdn.evil.test"}]}
        connection.execute(
            text(
                "INSERT INTO messages (sha256, message_id, subject, from_address, "
                "from_domain, envelope_sender, content_key, size, format, facts, "
                "first_seen_at) VALUES ('a' , '', '', '', '', '', '', 1, 'eml', "
                ":facts, CURRENT_TIMESTAMP)"
            ),
            {"facts": json.dumps(facts)},
        )
    database.migrate()
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT message_sha256, domain FROM message_domains")
        ).all()
    database.dispose()
    assert [tuple(r) for r in rows] == [("a", "evil.test")]
