"""One row into each of several tables as one statement (PostgreSQL's data-modifying WITH).

A new code is four rows written together: the code, its SMS, the SMS's send attempt when the
worker's relay claims it at once, and the audit event. As separate statements each is a call
into the driver, a message to the server and its parse, bind and execute there, with a GIL
hand-over around each of the driver's polls. On PostgreSQL the rows are written by one statement:
the first rows as `WITH … AS (INSERT …)` parts, the last as the statement itself. The foreign
keys between them hold: PostgreSQL checks them when the whole statement has run. SQLite has no
data-modifying WITH; its callers insert row by row.

Each part's values are bind parameters prefixed with the part's position (`p0_id`, `p1_id`):
the tables share column names, and a parameter named as a column of the statement's own table
would be taken for that column (see `Prepared`). The statement is built and compiled once per
set of columns, the first time it runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Insert, Table, bindparam, insert
from sqlmodel import Session

from declaration_otp.prepared import Prepared

Columns = tuple[tuple[str, ...], ...]


class ChainedInserts:
    def __init__(self, *tables: Table) -> None:
        """`tables` in the order their rows are given; the last one's insert is the statement."""
        self._tables = tables
        self._statements: dict[Columns, Prepared] = {}

    def run(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert `rows[i]` (every column's value, by column) into the i-th table."""
        columns = tuple(tuple(row) for row in rows)
        prepared = self._statements.get(columns)
        if prepared is None:
            prepared = self._statements[columns] = Prepared(self._statement(columns))
        prepared.run(
            session,
            {
                f"p{position}_{name}": value
                for position, row in enumerate(rows)
                for name, value in row.items()
            },
        )

    def _statement(self, columns: Columns) -> Insert:
        if len(columns) != len(self._tables):
            raise ValueError(f"{len(self._tables)} rows expected, got {len(columns)}")
        parts = [
            insert(table).values(
                {name: bindparam(f"p{position}_{name}", type_=table.c[name].type) for name in names}
            )
            for position, (table, names) in enumerate(zip(self._tables, columns, strict=True))
        ]
        *first, statement = parts
        for position, part in enumerate(first):
            statement = statement.add_cte(part.cte(f"row{position}"))
        return statement
