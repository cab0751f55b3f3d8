"""The index selector (edgevid/results/query.py) on a SQLite index, in process: parsing, the
revision rule, created_at ranges, and an index made before the git_revision column."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from edgevid.errors import UserError
from edgevid.results import store
from edgevid.results.query import Selector, looks_like_selector, matches, parse, rev_matches
from edgevid.runners.loop import summarize
from edgevid.runners.record import new_record


def _rec(device, rev, when, threads=1):
    s = [10.0, 10.5, 11.0]
    r = new_record(model="m", format="onnx", precision="fp32", device=device,
                   input_shape=[1, 3, 4, 32, 32], threads=threads, status="ok", samples_ms=s,
                   summary=summarize(s), created_at=when)
    r["env"] = {"git_revision": rev}
    return r


@pytest.mark.parametrize("stored, given, ok", [
    ("abc1234", "abc1234", True),
    ("abc1234", "abc1234def0", True),  # a full SHA against the short one recorded
    ("abc1234def0", "abc1", True),
    ("abc1234-dirty", "abc1234", False),  # uncommitted changes are not that revision
    ("abc1234-dirty", "abc1234-dirty", True),
    ("abc1234", "abd1234", False),
    (None, "abc1234", False),
])
def test_revision_rule(stored, given, ok):
    assert rev_matches(stored, given) is ok


@pytest.mark.parametrize("text, says", [
    ("rev=xyz", "not a git revision"),
    ("colour=red", "KEY one of"),
    ("device=a,device=b", "given twice"),
    ("since=yesterday", "give a UTC date"),
    ("until=2026-01-01|2026-02-01", "takes one date"),
    ("threads=two", "not a whole number"),
    ("device=", "empty value"),
    (",", "KEY one of"),
])
def test_bad_selectors_are_user_errors(text, says):
    with pytest.raises(UserError, match=says):
        parse(text)


def test_selector_or_path():
    assert looks_like_selector("rev=abc1") and looks_like_selector("rev:abc1")
    assert not looks_like_selector("results/base") and not looks_like_selector("base.json")


def test_find_on_sqlite(tmp_path):
    db = tmp_path / "index.sqlite"
    for dev, rev, when, t in [
        ("nano", "aaaa111", "2026-01-01T10:00:00+00:00", 1),
        ("nano", "bbbb222", "2026-01-02T10:00:00+00:00", 2),
        ("orin", "bbbb222", "2026-01-02T11:00:00+00:00", 1),
        ("nano", "bbbb222-dirty", "2026-01-03T10:00:00+00:00", 1),
    ]:
        store.save(_rec(dev, rev, when, t), tmp_path / "r", db)

    def got(text):
        with store.read_index(db) as index:
            return [(r["device"], r["env"]["git_revision"]) for r in index.find(parse(text))]

    assert got("rev=bbbb222") == [("nano", "bbbb222"), ("orin", "bbbb222")]
    assert got("rev=aaaa|bbbb222-dirty") == [("nano", "aaaa111"), ("nano", "bbbb222-dirty")]
    assert got("device=nano,threads=2") == [("nano", "bbbb222")]
    assert got("since=2026-01-02T11,until=2026-01-02") == [("orin", "bbbb222")]
    assert got("until=2026-01-01") == [("nano", "aaaa111")]
    with store.read_index(db) as index:  # history's query is the same WHERE
        assert len(index.query(model="m")) == 4 and len(index.query(device="orin")) == 1
        (r,) = index.find(parse("device=orin"), with_path=True)
        assert (tmp_path / "r").resolve() in Path(r["result_path"]).parents
    assert matches(Selector.of(device=["nano", "orin"], threads=1), _rec("orin", "x", "t"))


def test_an_index_made_before_the_revision_column_is_filled_in(tmp_path):
    db = tmp_path / "old.sqlite"
    rec = _rec("nano", "cafe123", "2026-01-01T10:00:00+00:00")
    conn = sqlite3.connect(db)  # the columns of an index made before the git_revision column
    conn.execute("CREATE TABLE results (id INTEGER PRIMARY KEY, path TEXT UNIQUE, "
                 "schema_version INTEGER, model TEXT, format TEXT, precision TEXT, device TEXT, "
                 "input_shape TEXT, threads INTEGER, status TEXT, p50 REAL, mean REAL, "
                 "ci95_low REAL, ci95_high REAL, created_at TEXT, json TEXT, variant TEXT, "
                 "scenario TEXT DEFAULT '')")
    conn.execute("INSERT INTO results (path, model, device, created_at, json, variant) "
                 "VALUES ('/x.json', 'm', 'nano', ?, ?, '')", (rec["created_at"], json.dumps(rec)))
    conn.commit()
    conn.close()
    with store.read_index(db) as index:
        assert [r["device"] for r in index.find(parse("rev=cafe123"))] == ["nano"]
    with pytest.raises(UserError, match="no results index"):
        store.read_index(tmp_path / "none.sqlite")
    (tmp_path / "junk.sqlite").write_text("not a database")
    with pytest.raises(UserError, match="not a readable results index"):
        store.read_index(tmp_path / "junk.sqlite")
