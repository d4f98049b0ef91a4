"""Migrations: upgrade from empty, agree with the models, downgrade to base, upgrade again."""

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.core.db import is_modelled
from app.extensions import db
from tests.conftest import alembic_config, database_url, engine_options, reset_schema, schema_name

NAME = "agora_migrations"


def test_upgrade_downgrade_upgrade_and_models_agree(tmp_path_factory):
    url, schema = database_url(tmp_path_factory, NAME), schema_name(NAME)
    reset_schema(url, schema)
    engine = sa.create_engine(url, **engine_options(url, schema))
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": is_modelled}),
                                           db.metadata)
            assert differences == []
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        assert {"users", "organizations", "consultations", "audit_entries"} <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
        reset_schema(url, schema, create=False)
