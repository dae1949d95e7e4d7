"""The MySQL DDL of the models: `python -m common.schema > sql/schema.sql` writes the one schema file.

The models are the single definition; sql/schema.sql (the MySQL container's init script) is
generated from them, and tests check that the file is current and builds the same tables.
"""

from __future__ import annotations

import sys

from sqlalchemy.dialects import mysql
from sqlalchemy.schema import CreateIndex, CreateTable

from common.models import Base

HEADER = """-- castflow schema for MySQL 8 / MariaDB 10.11: the docker-compose mysql service runs it at first start.
-- GENERATED from common/models.py by `python -m common.schema > sql/schema.sql`. Do not edit by hand.
-- The API and the workers also create missing tables at start-up, so an empty database is enough.
"""


def mysql_ddl() -> str:
    """CREATE TABLE / CREATE INDEX statements for every table, in dependency order."""
    dialect = mysql.dialect()
    statements = []
    for table in Base.metadata.sorted_tables:
        statements.append(str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)).strip())
        for index in sorted(table.indexes, key=lambda i: i.name):
            statements.append(str(CreateIndex(index).compile(dialect=dialect)).strip())
    body = ";\n\n".join(statements) + ";\n"
    return HEADER + "\n" + "\n".join(line.rstrip() for line in body.splitlines()) + "\n"


if __name__ == "__main__":
    sys.stdout.write(mysql_ddl())
