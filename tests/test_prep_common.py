"""Tests of data_prep.common: atomic writes, idempotence, splits, audio checks, rows."""

import json
import logging
import os

import numpy as np
import pytest
import soundfile as sf

from amls_speech.partitions import emotion_partition, gender_partition
from data_prep import common
from data_prep.common import (
    MANIFEST_FIELDS,
    MANIFEST_NAMES,
    AudioFileError,
    EmptySetError,
    audio_duration,
    build_rows,
    check_not_empty,
    is_prepared,
    make_row,
    manifest_paths,
    parse_mapping,
    read_manifest,
    run_preparation,
    split_rows_by_speaker,
    split_speakers,
    write_csv_atomic,
)


def _wav(path, seconds=0.1, sr=16000):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sf.write(path, np.random.RandomState(0).randn(int(seconds * sr)) * 0.01, sr)
    return str(path)


def _empty_manifests():
    return {n: [] for n in MANIFEST_NAMES}


# --- atomic CSV writing -----------------------------------------------------


def test_write_csv_atomic_content_and_no_temp(tmp_path):
    p = write_csv_atomic(tmp_path / "m.csv", [{"a": 1, "b": "x,y"}], ["a", "b"])
    assert read_manifest(p) == [{"a": "1", "b": "x,y"}]
    assert os.listdir(tmp_path) == ["m.csv"]


def test_write_csv_atomic_failure_keeps_old_file(tmp_path):
    target = tmp_path / "m.csv"
    write_csv_atomic(target, [{"a": 1}], ["a"])

    def rows():
        yield {"a": 2}
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_csv_atomic(target, rows(), ["a"])
    assert read_manifest(target) == [{"a": "1"}]  # old content intact
    assert os.listdir(tmp_path) == ["m.csv"]  # temp file cleaned up


def test_write_csv_atomic_honours_umask(tmp_path):
    old = os.umask(0o022)
    try:
        p = write_csv_atomic(tmp_path / "m.csv", [], ["a"])
    finally:
        os.umask(old)
    assert os.stat(p).st_mode & 0o777 == 0o644


# --- idempotence -------------------------------------------------------------


def test_run_preparation_skips_then_redoes(tmp_path, caplog):
    calls = []

    def build():
        calls.append(1)
        return _empty_manifests()

    paths = run_preparation(tmp_path, {"seed": 1, "p": gender_partition()}, build)
    assert sorted(paths) == sorted(MANIFEST_NAMES)
    mtimes = {n: os.stat(p).st_mtime_ns for n, p in paths.items()}
    with caplog.at_level(logging.INFO, logger="data_prep.common"):
        run_preparation(tmp_path, {"seed": 1, "p": gender_partition()}, build)
    assert len(calls) == 1
    assert "already prepared" in caplog.text
    assert mtimes == {n: os.stat(p).st_mtime_ns for n, p in paths.items()}
    run_preparation(tmp_path, {"seed": 2, "p": gender_partition()}, build)
    assert len(calls) == 2
    assert json.load(open(tmp_path / "prepare.json"))["seed"] == 2


def test_missing_manifest_or_bad_stamp_redoes(tmp_path):
    run_preparation(tmp_path, {"seed": 1}, _empty_manifests)
    os.remove(manifest_paths(tmp_path)["target_test"])
    assert not is_prepared(tmp_path, {"seed": 1})
    run_preparation(tmp_path, {"seed": 1}, _empty_manifests)
    assert is_prepared(tmp_path, {"seed": 1})
    (tmp_path / "prepare.json").write_text("{not json")
    assert not is_prepared(tmp_path, {"seed": 1})


def test_failed_build_keeps_previous_preparation(tmp_path):
    run_preparation(tmp_path, {"seed": 1}, _empty_manifests)

    def broken():
        raise EmptySetError("no target data found in x: y")

    with pytest.raises(EmptySetError):
        run_preparation(tmp_path, {"seed": 2}, broken)
    assert is_prepared(tmp_path, {"seed": 1})


def test_duplicate_ids_rejected(tmp_path):
    row = dict.fromkeys(MANIFEST_FIELDS, "x")
    m = _empty_manifests()
    m["source_train"] = [row]
    m["target_test"] = [dict(row)]
    with pytest.raises(ValueError, match="duplicate ID"):
        common.write_manifests(tmp_path, m, {})


# --- speaker splits ----------------------------------------------------------


def test_split_speakers_seeded_disjoint_and_order_free():
    spk = ["s%02d" % i for i in range(20)]
    a, b = split_speakers(spk, 0.2, seed=7)
    assert len(b) == 4 and not set(a) & set(b) and set(a) | set(b) == set(spk)
    assert (a, b) == split_speakers(list(reversed(spk)) + spk, 0.2, seed=7)
    assert any(split_speakers(spk, 0.2, seed=s) != (a, b) for s in range(8, 12))


@pytest.mark.parametrize("ratio", [0.01, 0.5, 0.99])
def test_split_speakers_one_on_each_side(ratio):
    a, b = split_speakers(["x", "y", "z"], ratio)
    assert a and b


def test_split_speakers_needs_two(tmp_path):
    with pytest.raises(ValueError, match="found 1 speaker"):
        split_speakers(["only"], what="target speakers")
    with pytest.raises(ValueError, match="ratio"):
        split_speakers(["a", "b"], ratio=1.0)


def test_split_rows_by_speaker():
    rows = [{"speaker": s, "ID": "%s%d" % (s, i)} for s in "abcdefghij" for i in range(3)]
    big, small = split_rows_by_speaker(rows, 0.2, seed=3)
    assert len(small) == 6 and len(big) == 24
    assert not {r["speaker"] for r in big} & {r["speaker"] for r in small}


# --- audio checks ------------------------------------------------------------


def test_audio_duration_reads_header(tmp_path):
    assert audio_duration(_wav(tmp_path / "a.wav", 0.25, 48000)) == 0.25


def test_corrupt_audio_raises_naming_file(tmp_path):
    p = tmp_path / "bad.wav"
    p.write_bytes(b"RIFF\x00\x00garbage garbage garbage")
    with pytest.raises(AudioFileError, match="bad.wav.*delete or re-download"):
        audio_duration(str(p))


def test_zero_byte_and_zero_frame_audio_raise(tmp_path):
    p = tmp_path / "zero.wav"
    p.write_bytes(b"")
    with pytest.raises(AudioFileError, match="zero.wav.*empty file"):
        audio_duration(str(p))
    q = tmp_path / "noframes.wav"
    sf.write(str(q), np.zeros(0), 16000)
    with pytest.raises(AudioFileError, match="noframes.wav is empty .0 frames.*delete or re-download"):
        audio_duration(str(q))


def test_git_lfs_pointer_and_missing_file(tmp_path):
    p = tmp_path / "lfs.wav"
    p.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n")
    with pytest.raises(AudioFileError, match="lfs.wav is a git-lfs pointer"):
        audio_duration(str(p))
    with pytest.raises(AudioFileError, match="does not exist"):
        audio_duration(str(tmp_path / "nope.wav"))


# --- rows --------------------------------------------------------------------


def test_make_row_columns_and_numbers(tmp_path):
    p = _wav(tmp_path / "x" / "1001_DFA_SAD_XX.wav")
    row = make_row(os.path.relpath(p), "Sad", "crema_d", 1001, emotion_partition())
    assert list(row) == list(MANIFEST_FIELDS)
    assert row["wav"] == p and os.path.isabs(row["wav"])
    assert row["class_number"] == 6 and row["label_set"] == "source_private"
    assert row["speaker"] == "1001" and row["duration"] == 0.1
    with pytest.raises(ValueError, match="not a class"):
        make_row(p, "Bored", "crema_d", "1001", emotion_partition())


def test_build_rows_sorted_and_checked(tmp_path):
    a = _wav(tmp_path / "a.wav")
    bad = tmp_path / "b.wav"
    bad.write_bytes(b"\x00" * 100)
    p = emotion_partition()
    rows = build_rows([(a, "Surprise", "ravdess", "Actor_01")], p)
    assert rows[0]["class_number"] == 7 and rows[0]["label_set"] == "target_private"
    with pytest.raises(AudioFileError, match="b.wav"):
        build_rows([(a, "Calm", "r", "1"), (str(bad), "Calm", "r", "1")], p)


def test_check_not_empty_message():
    with pytest.raises(EmptySetError, match=r"no target data found in /d: check --data_folder"):
        check_not_empty([], "target data", "/d", "check --data_folder / gender CSV")
    assert check_not_empty([1], "x", "/d", "h") == [1]


def test_parse_mapping():
    assert parse_mapping("M=matrix,R=respeaker,U=usb") == {
        "M": "matrix",
        "R": "respeaker",
        "U": "usb",
    }
    assert parse_mapping("DIS=None, HAP=drop") == {"DIS": None, "HAP": None}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_mapping("M:matrix")
