"""The FLOP-count cache of edgevid.models.stats: a hit returns what the count returned, without
counting; another code digest, ``off``, an unwritable place or a model from outside the zoo's
package count again. (``count_model`` is replaced by one that fails only to prove that a hit does
not count; the values compared are real counts.)"""

import dataclasses
import json

import pytest

from edgevid.models import get_spec
from edgevid.models import stats


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "c" / "model-stats.json"
    monkeypatch.setenv("EDGEVID_STATS_CACHE", str(path))
    return path


def no_count(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("counted although cached")

    monkeypatch.setattr(stats, "count_model", refuse)


def test_hit_is_the_count_and_does_not_count(cache, monkeypatch):
    spec = get_spec("x3d-tiny")
    want = stats.count_model(spec.build, spec.input)
    assert stats.spec_stats(spec) == want  # a miss: counted, then stored
    other = stats.spec_stats(spec, (3, 4, 48, 48))  # another input is another entry
    data = json.loads(cache.read_text())
    assert data["code"] == stats.code_digest()
    assert set(data["counts"]) == {"x3d-tiny 3x4x32x32", "x3d-tiny 3x4x48x48"}
    no_count(monkeypatch)
    assert stats.spec_stats(spec) == want
    assert stats.spec_stats(spec, (3, 4, 48, 48)) == other and other.gflops > want.gflops


def test_other_code_digest_counts_again_and_drops_old_entries(cache, monkeypatch):
    cache.parent.mkdir()
    stale = {"params": 1, "gflops": 1.0}
    cache.write_text(json.dumps({"code": "an older zoo", "counts": {"x3d-tiny 3x4x32x32": stale,
                                                                   "gone 1x1x1x1": stale}}))
    spec = get_spec("x3d-tiny")
    st = stats.spec_stats(spec)
    assert st.params != 1 and st == stats.count_model(spec.build, spec.input)
    assert list(json.loads(cache.read_text())["counts"]) == ["x3d-tiny 3x4x32x32"]


def test_corrupt_file_is_a_miss(cache):
    cache.parent.mkdir()
    cache.write_text("{not json")
    spec = get_spec("x3d-tiny")
    assert stats.spec_stats(spec) == stats.count_model(spec.build, spec.input)
    assert json.loads(cache.read_text())["code"] == stats.code_digest()  # rewritten


def test_off_and_unwritable_count_every_time(tmp_path, monkeypatch):
    spec = get_spec("x3d-tiny")
    want = stats.count_model(spec.build, spec.input)
    monkeypatch.setenv("EDGEVID_STATS_CACHE", "off")
    assert stats.cache_file() is None and stats.spec_stats(spec) == want
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("EDGEVID_STATS_CACHE", str(blocker / "model-stats.json"))
    assert stats.spec_stats(spec) == want  # cannot write under a file: counted, no error


def test_default_place_is_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.delenv("EDGEVID_STATS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert stats.cache_file() == tmp_path / "edgevid" / "model-stats.json"


def test_model_from_outside_the_zoo_package_is_not_cached(cache, monkeypatch):
    spec = get_spec("x3d-tiny")
    outside = dataclasses.replace(spec, builder=lambda num_classes: spec.build(num_classes))
    assert stats.spec_stats(outside) == stats.count_model(spec.build, spec.input)
    assert not cache.exists()  # counted, not stored: the digest does not cover its code
