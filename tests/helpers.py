"""Reading pages the way a person does, counting what a request asks of the database, running the jobs."""

import html
from contextlib import contextmanager

import sqlalchemy as sa

from app.core import jobs
from app.extensions import db


def text_of(response) -> str:
    """The page's HTML with entities decoded, so assertions quote the text as written."""
    return html.unescape(response.get_data(as_text=True))


@contextmanager
def counted_statements():
    """The SQL statements sent to the database inside the block."""
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def run_jobs() -> int:
    """Run the jobs that are due (text vectors…), as the worker `flask --app wsgi jobs run` does between
    two requests; how many succeeded."""
    return jobs.run_pending()
