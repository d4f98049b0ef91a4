"""Reading the database and writing text a piece at a time, so that a file of any size costs flat memory."""

import csv
import io
from collections.abc import Callable, Iterable, Iterator

import sqlalchemy as sa

from app.extensions import db

ROWS_PER_FETCH = 2000  # rows a streamed read holds at a time
CHUNK_BYTES = 64 * 1024  # a response sends pieces of about this size: one per line would cost a write each


def streamed(statement: sa.Select) -> Iterator[sa.Row]:
    """The rows of `statement`, fetched ROWS_PER_FETCH at a time (a server-side cursor on PostgreSQL)."""
    result = db.session.execute(statement.execution_options(yield_per=ROWS_PER_FETCH))
    for partition in result.partitions():
        yield from partition


def csv_line() -> Callable[[Iterable], str]:
    """A function writing one `;`-separated line (values holding `;`, quotes or line breaks are quoted)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")

    def line(fields: Iterable) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(fields)
        return buffer.getvalue()
    return line


def chunks(texts: Iterable[str], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The texts, UTF-8 encoded, gathered into pieces of about `size` bytes."""
    pending, length = [], 0
    for text in texts:
        pending.append(text)
        length += len(text)
        if length >= size:
            yield "".join(pending).encode()
            pending, length = [], 0
    if pending:
        yield "".join(pending).encode()
