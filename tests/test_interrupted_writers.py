"""Each writer of a file that is trusted later, interrupted in the middle: nothing half-written survives.

The preparation (four manifests, then the stamp), the feature cache and
``results.json`` (amls-bench's resumable record) each die part-way through a
write; the test then checks that what is on disk is either the previous whole
file or nothing, that no temporary file is left, and that the next call
redoes the work. (Checkpoints: tests/test_resume.py; the generators: the
tests of data_prep/synth_*.)
"""

import json
import os

import pytest
import torch

import data_prep.common as common
from amls_speech import atomic
from amls_speech.features import FeatureCache


class Killed(BaseException):
    """Stands for a SIGINT / SIGKILL in the middle of a write."""


def build(rows):
    def fn():
        return {name: [dict(r, ID="%s_%d" % (name, i)) for i, r in enumerate(rows)]
                for name in common.MANIFEST_NAMES}
    return fn


ROW = {"wav": "/x.wav", "duration": 1.0, "label": "yes", "class_number": 0, "label_set": "shared",
       "domain": "male", "speaker": "s1"}


def test_preparation_interrupted_between_manifests_is_redone(tmp_path, monkeypatch):
    folder = str(tmp_path / "manifests")
    common.run_preparation(folder, {"seed": 1}, build([ROW]))
    assert common.is_prepared(folder, {"seed": 1})
    real, calls = common.write_csv_atomic, []

    def dies_on_third(path, rows, fieldnames=common.MANIFEST_FIELDS):
        calls.append(path)
        if len(calls) == 3:
            raise Killed(path)
        return real(path, rows, fieldnames)

    monkeypatch.setattr(common, "write_csv_atomic", dies_on_third)
    with pytest.raises(Killed):  # new arguments, new rows: dies after two of the four manifests
        common.run_preparation(folder, {"seed": 2}, build([ROW, ROW]))
    # the old stamp is gone first, so neither preparation is trusted any more
    assert not common.is_prepared(folder, {"seed": 1}) and not common.is_prepared(folder, {"seed": 2})
    assert not [n for n in os.listdir(folder) if n.endswith(".tmp")]
    monkeypatch.setattr(common, "write_csv_atomic", real)
    paths = common.run_preparation(folder, {"seed": 2}, build([ROW, ROW]))
    assert common.is_prepared(folder, {"seed": 2})
    assert all(len(common.read_manifest(p)) == 2 for p in paths.values())


def test_feature_cache_interrupted_while_saving_keeps_no_entry(tmp_path, monkeypatch):
    cache = FeatureCache(str(tmp_path / "cache"), {"n_mfcc": 40})
    real = torch.save

    def half_save(obj, f, *args, **kwargs):
        with open(f, "wb") as out:
            out.write(b"PK\x03\x04 half a tensor")
        raise Killed("torch.save")

    monkeypatch.setattr(torch, "save", half_save)
    with pytest.raises(Killed):
        cache.get(__file__, lambda: torch.ones(3))
    assert os.listdir(cache.folder) == []  # neither an entry nor the temporary file
    monkeypatch.setattr(torch, "save", real)
    calls = []
    assert torch.equal(cache.get(__file__, lambda: calls.append(1) or torch.full((3,), 2.0)), torch.full((3,), 2.0))
    assert calls == [1]  # computed again, not read from a half file
    assert torch.equal(cache.get(__file__, lambda: torch.zeros(3)), torch.full((3,), 2.0))


def test_results_json_interrupted_mid_write_keeps_the_previous_records(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    atomic.write_json_atomic(str(path), [{"task": "M2F", "seed": 0, "score": 0.5}])

    def killed_before_the_rename(fd):  # the new records are in the temporary file, not yet in place
        raise Killed("fsync")

    monkeypatch.setattr(atomic.os, "fsync", killed_before_the_rename)
    with pytest.raises(Killed):
        atomic.write_json_atomic(str(path), [{"task": "M2F", "seed": 0, "score": 0.5},
                                             {"task": "M2F", "seed": 1, "score": 0.6}])
    assert json.loads(path.read_text()) == [{"task": "M2F", "seed": 0, "score": 0.5}]
    assert os.listdir(tmp_path) == ["results.json"]  # the temporary file is gone too
