"""Tests of data_prep/mic2mic.py on a tiny fake corpus in the stand-in layout."""

import json
import logging
import os
import shutil

import numpy as np
import pytest
import soundfile as sf

from amls_speech.partitions import (
    MIC2MIC_WORDS,
    SHARED,
    SOURCE_PRIVATE,
    TARGET_PRIVATE,
    microphone_partition,
)
from data_prep.common import MANIFEST_FIELDS, EmptySetError, read_manifest
from data_prep.mic2mic import prepare_mic2mic
from helpers import run_script

SPEAKERS = ["spk01", "spk02", "spk03", "spk04"]


def make_corpus(root, mic_folders=("matrix", "respeaker", "usb"), speakers=SPEAKERS):
    rng = np.random.RandomState(0)
    for mic in mic_folders:
        for word in MIC2MIC_WORDS:
            d = os.path.join(root, mic, word)
            os.makedirs(d)
            for spk in speakers:
                sf.write(os.path.join(d, "%s_nohash_0.wav" % spk), rng.randn(1600) * 0.01, 16000)
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(str(tmp_path_factory.mktemp("mic") / "mic2mic"))


@pytest.fixture(scope="module")
def m2r(corpus, tmp_path_factory):
    paths = prepare_mic2mic(corpus, str(tmp_path_factory.mktemp("m2r")), source="M", target="R")
    return paths, {n: read_manifest(p) for n, p in paths.items()}


def _utt(row):
    return row["label"], os.path.basename(row["wav"])


def test_domains_and_disjoint_speakers(m2r):
    paths, m = m2r
    source = m["source_train"] + m["source_valid"]
    target = m["target_adapt"] + m["target_test"]
    with open(paths["source_train"]) as f:
        assert f.readline().strip() == ",".join(MANIFEST_FIELDS)
    assert {r["domain"] for r in source} == {"M"} and {r["domain"] for r in target} == {"R"}
    assert all("/matrix/" in r["wav"] for r in source)
    assert all("/respeaker/" in r["wav"] for r in target)
    s_spk, t_spk = {r["speaker"] for r in source}, {r["speaker"] for r in target}
    assert len(s_spk) == 2 and len(t_spk) == 2 and not s_spk & t_spk
    assert not {_utt(r) for r in source} & {_utt(r) for r in target}  # no shared utterance
    for a, b in (("source_train", "source_valid"), ("target_adapt", "target_test")):
        sa, sb = {r["speaker"] for r in m[a]}, {r["speaker"] for r in m[b]}
        assert sa and sb and not sa & sb


def test_partition_class_by_class(m2r):
    _, m = m2r
    p = microphone_partition()
    source = m["source_train"] + m["source_valid"]
    target = m["target_adapt"] + m["target_test"]
    assert len(p.classes) == 31
    for number, word in enumerate(sorted(MIC2MIC_WORDS), start=1):
        s_rows = [r for r in source if r["label"] == word]
        t_rows = [r for r in target if r["label"] == word]
        for r in s_rows + t_rows:
            assert int(r["class_number"]) == number and r["label_set"] == p.label_set(word)
        ls = p.label_set(word)
        assert bool(s_rows) == (ls in (SHARED, SOURCE_PRIVATE))
        assert bool(t_rows) == (ls in (SHARED, TARGET_PRIVATE))
    num = lambda rows, ls: {int(r["class_number"]) for r in rows if r["label_set"] == ls}  # noqa
    assert num(source, SOURCE_PRIVATE) == {1, 3, 5, 9, 10, 11, 12, 22, 25, 28}
    assert num(source, SHARED) == num(target, SHARED) == {6, 8, 14, 16, 21, 23, 24, 27, 29, 30}
    assert len(num(target, TARGET_PRIVATE)) == 11
    assert not num(source, TARGET_PRIVATE) and not num(target, SOURCE_PRIVATE)


def test_overlapping_speakers_option(corpus, tmp_path):
    paths = prepare_mic2mic(corpus, str(tmp_path), source="U", target="M", disjoint_speakers=False)
    src = read_manifest(paths["source_train"]) + read_manifest(paths["source_valid"])
    tgt = read_manifest(paths["target_adapt"]) + read_manifest(paths["target_test"])
    assert {r["speaker"] for r in src} == {r["speaker"] for r in tgt} == set(SPEAKERS)
    assert {r["domain"] for r in src} == {"U"} and all("/usb/" in r["wav"] for r in src)


def test_custom_mic_folders(tmp_path):
    data = make_corpus(str(tmp_path / "c"), mic_folders=("MatrixVoice", "ReSpeaker4"))
    paths = prepare_mic2mic(
        data, str(tmp_path / "s"), mic_folders={"M": "MatrixVoice", "R": "ReSpeaker4"}
    )
    assert all("/ReSpeaker4/" in r["wav"] for r in read_manifest(paths["target_test"]))
    with pytest.raises(ValueError, match="target microphone 'U' has no folder"):
        prepare_mic2mic(data, str(tmp_path / "s"), target="U", mic_folders={"M": "MatrixVoice"})
    with pytest.raises(FileNotFoundError, match="microphone folder .*matrix not found"):
        prepare_mic2mic(data, str(tmp_path / "s2"))
    with pytest.raises(ValueError, match="both 'M'"):
        prepare_mic2mic(data, str(tmp_path / "s2"), target="M")


def test_class_folders_must_match(tmp_path):
    data = make_corpus(str(tmp_path / "c"), mic_folders=("matrix", "respeaker"), speakers=SPEAKERS[:1])
    shutil.rmtree(os.path.join(data, "respeaker", "wow"))
    os.makedirs(os.path.join(data, "respeaker", "hello"))
    os.makedirs(os.path.join(data, "respeaker", "_noise"))  # ignored
    with pytest.raises(ValueError, match=r"missing \['wow'\], unexpected \['hello'\]"):
        prepare_mic2mic(data, str(tmp_path / "s"))


def test_too_few_speakers_and_empty_target(tmp_path):
    data = make_corpus(str(tmp_path / "c"), mic_folders=("matrix", "respeaker"), speakers=SPEAKERS[:2])
    with pytest.raises(ValueError, match="need at least 4 speakers; found 2"):
        prepare_mic2mic(data, str(tmp_path / "s"))
    for word in MIC2MIC_WORDS:
        for f in os.listdir(os.path.join(data, "respeaker", word)):
            os.remove(os.path.join(data, "respeaker", word, f))
    with pytest.raises(EmptySetError, match="no target data .microphone R. found"):
        prepare_mic2mic(data, str(tmp_path / "s"), disjoint_speakers=False)


def test_idempotent_then_rerun(corpus, tmp_path, caplog):
    paths = prepare_mic2mic(corpus, str(tmp_path))
    files = list(paths.values()) + [str(tmp_path / "prepare.json")]
    before = {p: (os.stat(p).st_mtime_ns, os.stat(p).st_ino) for p in files}
    with caplog.at_level(logging.INFO):
        prepare_mic2mic(corpus, str(tmp_path))
    assert "already prepared" in caplog.text
    assert before == {p: (os.stat(p).st_mtime_ns, os.stat(p).st_ino) for p in files}
    prepare_mic2mic(corpus, str(tmp_path), target="U")
    assert all(os.stat(p).st_ino != before[p][1] for p in files)
    assert {r["domain"] for r in read_manifest(paths["target_test"])} == {"U"}


def test_cli(corpus, tmp_path):
    out = run_script(
        "data_prep/mic2mic.py",
        "--data_folder", corpus,
        "--source", "U",
        "--target", "M",
        "--save_folder", str(tmp_path),
        "--mic_folders", "M=matrix,R=respeaker,U=usb",
    )
    assert out.returncode == 0, out.stderr
    paths = json.loads(out.stdout)
    assert {r["domain"] for r in read_manifest(paths["source_train"])} == {"U"}
    assert json.load(open(tmp_path / "prepare.json"))["mic_folders"] == {"M": "matrix", "U": "usb"}
