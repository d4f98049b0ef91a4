"""Alembic environment: builds the app and migrates its database against the models' metadata.

Tests hand over a connection in `config.attributes["connection"]`; otherwise the app's own
database (DATABASE_URL, SQLite by default) is used.
"""

from logging.config import fileConfig

from alembic import context

from app import create_app
from app.core.db import is_modelled
from app.extensions import db

config = context.config
if config.config_file_name is not None and not config.attributes.get("connection"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=db.metadata,
        include_name=is_modelled,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    with create_app().app_context():
        with db.engine.connect() as connection:
            run_migrations(connection)
            connection.commit()
