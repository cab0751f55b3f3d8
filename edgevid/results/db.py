"""The results index behind a database URL (SQLAlchemy 2.x): PostgreSQL for a team.

``--db`` takes a SQLite file (the embedded default, ``store.Index``, stdlib sqlite3) or a URL.
``sqlite:///path`` is that same file; any other URL (``postgresql+psycopg://user@host/db``) is a
:class:`DbIndex`. Result files stay the source of truth: ``edgevid index rebuild --db URL``
re-imports them (an upsert: a team database keeps the records of every other machine).

Schema versions: table ``edgevid_schema`` holds the version; :data:`MIGRATIONS` are applied in
order, each in the transaction that bumps the version, under a PostgreSQL advisory lock, so the
first writers of several CI jobs racing on an empty database migrate it once.

Concurrent writers: each record is one ``INSERT .. ON CONFLICT (path) DO UPDATE`` in its own
transaction; nothing is read-modify-written, so no writer can lose another's record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

from edgevid.errors import UserError

SCHEMA_TABLE = "edgevid_schema"
_LOCK_KEY = 0x65D6E7  # the advisory lock that serialises migrations
# version N: the statements that take the schema from N-1 to N (standard SQL)
MIGRATIONS = (
    (
        "CREATE TABLE results (id SERIAL PRIMARY KEY, path TEXT UNIQUE NOT NULL, "
        "schema_version INTEGER, model TEXT, format TEXT, precision TEXT, device TEXT, "
        "input_shape TEXT, threads INTEGER, status TEXT, p50 DOUBLE PRECISION, "
        "mean DOUBLE PRECISION, ci95_low DOUBLE PRECISION, ci95_high DOUBLE PRECISION, "
        "created_at TEXT, json TEXT)",
    ),
    (
        "ALTER TABLE results ADD COLUMN variant TEXT",
        "CREATE INDEX by_variant_key ON results "
        "(model, device, format, precision, variant, input_shape, threads)",
    ),
    ("ALTER TABLE results ADD COLUMN scenario TEXT DEFAULT ''",),  # the stream scenario
    (  # the revision a selector asks for (results/query.py); filled from each row's JSON
        "ALTER TABLE results ADD COLUMN git_revision TEXT",
        "CREATE INDEX by_revision ON results (git_revision)",
    ),
)
#: version -> a step run after that version's statements, in the same transaction
BACKFILL = {4: "git_revision"}


def is_url(text) -> bool:
    return isinstance(text, str) and "://" in text


def target(text: Optional[str]) -> Optional[Union[Path, str]]:
    """``--db`` as given: None, a SQLite file Path (also from ``sqlite:///path``), or a URL."""
    if text is None or text == "":
        return None
    if not is_url(text):
        return Path(text)
    if text.startswith("sqlite://"):
        path = text.split("://", 1)[1]
        if not path.startswith("/") or path == "/":
            raise UserError(f"--db {text}: give a SQLite file as sqlite:///path/to/index.sqlite")
        return Path(path[1:])  # sqlite:///rel/x.sqlite, sqlite:////abs/x.sqlite
    return text


def shown(url: str) -> str:
    """The URL with its password hidden (for messages)."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1] if "@" in url else url


def _engine(url: str):
    try:
        from sqlalchemy import create_engine
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError
    except ImportError:
        raise UserError(
            "--db URL needs SQLAlchemy and a driver: pip install 'edgevid[lab]'"
        ) from None
    try:
        return create_engine(url, pool_pre_ping=True, connect_args=_connect_args(url))
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as e:
        raise UserError(f"--db {shown(url)}: not a usable database URL ({_first(e)})") from None


def _connect_args(url: str) -> dict:
    return {"connect_timeout": 10} if url.startswith("postgresql") else {}


def _first(e: BaseException) -> str:
    text = str(getattr(e, "orig", None) or e).strip()
    return text.splitlines()[0] if text else type(e).__name__


class DbIndex:
    """The results index in a server database; the same ``add`` / ``query`` as ``store.Index``."""

    def __init__(self, url: str):
        from sqlalchemy.exc import SQLAlchemyError

        self.url = url
        self.engine = _engine(url)
        try:
            self.migrate()
        except SQLAlchemyError as e:
            self.engine.dispose()
            raise UserError(f"--db {shown(url)}: cannot use the database ({_first(e)})") from None

    def version(self, conn) -> int:
        from sqlalchemy import text

        conn.execute(text(f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (version INTEGER NOT NULL)"))
        row = conn.execute(text(f"SELECT max(version) FROM {SCHEMA_TABLE}")).fetchone()
        return int(row[0] or 0) if row else 0

    def migrate(self) -> int:
        """Bring the schema to the newest version; returns it. Safe to race (advisory lock)."""
        from sqlalchemy import text

        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                conn.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})"))
            have = self.version(conn)
            if have > len(MIGRATIONS):
                raise UserError(
                    f"--db {shown(self.url)}: schema version {have} is newer than this edgevid "
                    f"({len(MIGRATIONS)}); upgrade edgevid"
                )
            for n in range(have, len(MIGRATIONS)):
                for stmt in MIGRATIONS[n]:
                    conn.execute(text(stmt))
                if BACKFILL.get(n + 1) == "git_revision":
                    _backfill_revisions(conn)
                conn.execute(text(f"DELETE FROM {SCHEMA_TABLE}"))
                conn.execute(text(f"INSERT INTO {SCHEMA_TABLE} (version) VALUES ({n + 1})"))
        return len(MIGRATIONS)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.engine.dispose()

    def add(self, path, record: dict) -> None:
        from sqlalchemy import text

        from edgevid.results.rows import COLUMNS, index_row

        row = index_row(path, record)
        cols = ", ".join(COLUMNS)
        vals = ", ".join(f":{c}" for c in COLUMNS)
        upd = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c != "path")
        sql = f"INSERT INTO results ({cols}) VALUES ({vals}) ON CONFLICT (path) DO UPDATE SET {upd}"
        with self.engine.begin() as conn:
            conn.execute(text(sql), row)

    def query(self, model: Optional[str] = None, device: Optional[str] = None) -> list:
        from edgevid.results.query import Selector

        return self.find(Selector.of(model=model, device=device))

    def find(self, selector, with_path: bool = False) -> list:
        """The records a selector chooses (results/query.py), oldest first."""
        from sqlalchemy import text

        from edgevid.results.query import chosen, find_sql

        sql, args = find_sql(selector)
        with self.engine.connect() as conn:
            rows = conn.execute(text(sql), args).fetchall()
        return chosen(rows, selector, with_path)

    def count(self) -> int:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM results")).scalar() or 0)


def _backfill_revisions(conn) -> None:
    from sqlalchemy import text

    from edgevid.results.rows import BACKFILL_REVISION, revision_updates

    updates = revision_updates(conn.execute(text("SELECT id, json FROM results")).fetchall())
    if updates:
        conn.execute(text(BACKFILL_REVISION), updates)


def errors() -> tuple:
    """The exceptions a server database raises at run time (for the callers' except clauses)."""
    try:
        from sqlalchemy.exc import SQLAlchemyError

        return (SQLAlchemyError,)
    except ImportError:
        return ()
