"""Reading pages the way a person does, counting what a request asks of the database, running the jobs,
receiving mails on a real SMTP server."""

import html
from collections import Counter
from contextlib import contextmanager
from email import message_from_bytes

import sqlalchemy as sa
from aiosmtpd.controller import Controller

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


class Inbox:
    """What the SMTP server received: the envelope's recipients and the message, per mail."""

    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def count_per_recipient(self) -> Counter:
        return Counter(recipient for recipients, _ in self.received for recipient in recipients)


@contextmanager
def smtp_server(port: int):
    """A real SMTP server listening on `port`, in a thread, while the block runs; yields its Inbox."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
