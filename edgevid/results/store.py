"""Result records on disk: JSON files are the source of truth, indexed in SQLite.

Layout: ``results/<device>/<model>/<format>-<precision>-<CxTxHxW>-t<threads>-<UTC time>.json`` and
``results/index.sqlite``. Every file is written atomically (temp file + fsync + rename), so a killed
process leaves either the whole record or none.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Optional, Union

from edgevid.errors import UserError
from edgevid.results import db as dbmod
from edgevid.results.query import Selector, chosen, find_sql
from edgevid.results.rows import BACKFILL_REVISION, COLUMNS, index_row, revision_updates
from edgevid.outputs import check_output_path, inside, slug, write_text_safely
from edgevid.results.select import scenario_key
from edgevid.runners.record import REQUIRED_KEYS, SCHEMA_VERSION, STATUSES, SUMMARY_KEYS
from edgevid.runners.settings import strict_dumps

DEFAULT_ROOT = Path("results")
INDEX_NAME = "index.sqlite"
DbSpec = Optional[Union[Path, str]]  # a SQLite file, or a database URL (results/db.py)


def validate(record: dict, where: str = "record") -> dict:
    """Raise UserError if ``record`` lacks a required key or has a wrong type."""
    if not isinstance(record, dict):
        raise UserError(f"{where}: not an edgevid result (a JSON object is expected)")
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise UserError(f"{where}: not an edgevid result (missing {', '.join(missing)})")
    if not isinstance(record["schema_version"], int):
        raise UserError(
            f"{where}: schema_version must be an integer, got {record['schema_version']!r}"
        )
    if record["schema_version"] > SCHEMA_VERSION:
        raise UserError(
            f"{where}: schema_version {record['schema_version']} is newer than this "
            f"edgevid ({SCHEMA_VERSION}); upgrade edgevid"
        )
    if record["status"] not in STATUSES:
        raise UserError(f"{where}: status {record['status']!r} is not one of {STATUSES}")
    if record["status"] == "ok" and record.get("kind", "bench") == "bench":
        missing = [k for k in SUMMARY_KEYS if k not in record["summary"]]
        if missing or not record["samples_ms"]:
            raise UserError(
                f"{where}: an ok result needs samples_ms and summary "
                f"({', '.join(missing) or 'samples_ms empty'})"
            )
    return record


def shape_label(shape) -> str:
    """C x T x H x W, with the batch in front when it is not 1 ('2x3x4x32x32')."""
    shape = list(shape or [])
    if len(shape) == 5 and shape[0] != 1:
        return "x".join(map(str, shape))
    return "x".join(str(v) for v in shape[1:])


def result_path(root: Path, record: dict) -> Path:
    shape = shape_label(record.get("input_shape")) or "na"
    threads = record.get("threads") or "default"
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    kind = "" if record.get("kind", "bench") == "bench" else f"{record['kind']}-"
    variant = re.sub(r"[^A-Za-z0-9]+", "_", record.get("variant") or "").strip("_")
    fmt = record["format"] + (f"-{variant}" if variant else "")
    scenario = re.sub(r"[^A-Za-z0-9]+", "_", scenario_key(record)).strip("_")
    scenario = f"-{scenario}" if scenario else ""  # a stream run never takes a latency run's name
    name = slug(f"{kind}{fmt}-{record['precision']}-{shape}-t{threads}{scenario}-{stamp}") + ".json"
    path = Path(root) / slug(record["device"]) / slug(record["model"]) / name
    return inside(root, path)


def _warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr, flush=True)


def _warn_rebuilt(db, root, n: int, e: Exception) -> None:
    _warn(
        f"the results index {db} was unreadable ({e}); kept it as {Path(db).name}.corrupt "
        f"and rebuilt the index from the {n} result file(s) under {root} (`edgevid index "
        f"rebuild --results {root}` does this on demand)"
    )


def save(record: dict, root: Path = DEFAULT_ROOT, db: DbSpec = None) -> Path:
    """Write the record's file (the source of truth), then index it. A corrupt index does not
    lose the record: it is set aside and rebuilt from the result files, with a warning. A
    database URL that fails now loses nothing either: the file is kept, with a warning."""
    validate(record)
    path = result_path(root, record)
    write_text_safely(path, strict_dumps(record, indent=1), "--results")
    if dbmod.is_url(db):
        url = str(db)
        try:
            with dbmod.DbIndex(url) as index:
                index.add(path, record)
        except (UserError, *dbmod.errors()) as e:
            _warn(
                f"{path} was saved but not indexed in {dbmod.shown(url)} "
                f"({str(e).splitlines()[0]}); `edgevid index rebuild --results {root} --db URL` "
                f"imports it later"
            )
        return path
    db = Path(db or Path(root) / INDEX_NAME)
    try:
        with Index(db) as index:
            index.add(path, record)
    except sqlite3.DatabaseError as e:
        n = rebuild_index(root, db, reason=str(e))
        _warn_rebuilt(db, root, n, e)
    return path


def _result_files(root: Path):
    for f in iter_files([root]) if Path(root).is_dir() else []:
        try:
            data = json.loads(f.read_text())
            if not isinstance(data, dict):
                continue
            validate(data, str(f))
        except (OSError, ValueError, UserError):
            continue
        yield f, data


def rebuild_index(
    root: Path = DEFAULT_ROOT, db: DbSpec = None, reason: Optional[str] = None
) -> int:
    """Build the SQLite index anew from the result files under ``root``; returns how many were
    indexed. An existing index file is kept as ``<name>.corrupt`` when ``reason`` is given (it
    was unreadable), else replaced. Files that are not results are skipped. A database URL is
    not emptied (a team's database holds other machines' records): the files are upserted."""
    if dbmod.is_url(db):
        n = 0
        with dbmod.DbIndex(str(db)) as server:
            for f, data in _result_files(root):
                server.add(f, data)
                n += 1
        return n
    db = Path(db or Path(root) / INDEX_NAME)
    check_output_path(db, "--db")
    if db.exists():
        if reason is not None:
            os.replace(db, db.with_name(db.name + ".corrupt"))
        else:
            db.unlink()
    for extra in ("-journal", "-wal", "-shm"):
        Path(str(db) + extra).unlink(missing_ok=True)
    n = 0
    with Index(db) as index:
        for f, data in _result_files(root):
            index.add(f, data)
            n += 1
    return n


def open_index(db: DbSpec, root: Path):
    """The index at ``db``, rebuilt from the files under ``root`` (with a warning) if corrupt;
    a database URL is opened as is (a :class:`edgevid.results.db.DbIndex`)."""
    if dbmod.is_url(db):
        return dbmod.DbIndex(str(db))
    db = Path(db or Path(root) / INDEX_NAME)
    try:
        index = Index(db)
        index.conn.execute("SELECT count(*) FROM results").fetchone()
        return index
    except sqlite3.DatabaseError as e:
        n = rebuild_index(root, db, reason=str(e))
        _warn_rebuilt(db, root, n, e)
        return Index(db)


def read_index(db: DbSpec):
    """An index a reader was pointed at (``--db``), opened as it is: a missing or unreadable
    SQLite file is a UserError, a database URL a :class:`edgevid.results.db.DbIndex`."""
    if dbmod.is_url(db):
        return dbmod.DbIndex(str(db))
    if db is None or not Path(db).is_file():
        raise UserError(f"no results index at {db}: give --db a SQLite file or a database URL")
    try:
        index = Index(Path(db))
    except sqlite3.DatabaseError as e:
        raise UserError(f"--db {db}: not a readable results index ({e})") from None
    return index


def _read_json(path: Path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read result {path}: {e}") from e


def load(path: Path) -> dict:
    record = _read_json(path)
    if isinstance(record, list):
        raise UserError(f"{path} holds a list; give one result per file")
    return validate(record, str(path))


def iter_files(paths: Iterable) -> list:
    files = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*.json") if not f.name.startswith(".")))
        elif p.is_file():
            files.append(p)
        else:
            raise UserError(f"no such results file or folder: {p}")
    return files


def load_all(paths: Iterable) -> list:
    """Load result records from files and folders (recursively); a bad file is a UserError."""
    out: list = []
    for f in iter_files(paths):
        data = _read_json(f)
        if isinstance(data, list):  # `edgevid bench --json > file.json` output
            out.extend(validate(r, f"{f}[{i}]") for i, r in enumerate(data))
        else:
            out.append(validate(data, str(f)))
    return out


class Index:
    """SQLite index of result files: one row per record, with the whole JSON kept too."""

    def __init__(self, path: Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(path), timeout=30)
        try:
            self._create()
        except BaseException:
            self.conn.close()
            raise

    def _create(self) -> None:
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS results (id INTEGER PRIMARY KEY, path TEXT UNIQUE, "
            "schema_version INTEGER, model TEXT, format TEXT, precision TEXT, device TEXT, "
            "input_shape TEXT, threads INTEGER, status TEXT, p50 REAL, mean REAL, "
            "ci95_low REAL, ci95_high REAL, created_at TEXT, json TEXT, variant TEXT)"
        )
        have = {r[1] for r in self.conn.execute("PRAGMA table_info(results)")}
        if "variant" not in have:  # an index made before the variant was part of the identity
            self.conn.execute("ALTER TABLE results ADD COLUMN variant TEXT")
            self.conn.execute("DROP INDEX IF EXISTS by_key")
        if "scenario" not in have:  # made before the scenario was part of the identity
            self.conn.execute("ALTER TABLE results ADD COLUMN scenario TEXT DEFAULT ''")
        if "git_revision" not in have:  # made before a selector could ask for a revision
            self.conn.execute("ALTER TABLE results ADD COLUMN git_revision TEXT")
            rows = self.conn.execute("SELECT id, json FROM results").fetchall()
            self.conn.executemany(BACKFILL_REVISION, revision_updates(rows))
        self.conn.execute(
            "CREATE INDEX IF NOT EXISTS by_variant_key ON results "
            "(model, device, format, precision, variant, input_shape, threads)"
        )
        self.conn.execute("CREATE INDEX IF NOT EXISTS by_revision ON results (git_revision)")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.conn.commit()
        self.conn.close()

    def add(self, path: Path, record: dict) -> None:
        self.conn.execute(
            f"INSERT OR REPLACE INTO results ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join(':' + c for c in COLUMNS)})",
            index_row(path, record),
        )

    def query(self, model: Optional[str] = None, device: Optional[str] = None) -> list:
        return self.find(Selector.of(model=model, device=device))

    def find(self, selector: Selector, with_path: bool = False) -> list:
        """The records a selector chooses (results/query.py), oldest first."""
        sql, args = find_sql(selector)
        return chosen(self.conn.execute(sql, args).fetchall(), selector, with_path)
