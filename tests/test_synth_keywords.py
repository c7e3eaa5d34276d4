"""Tests of the synthetic Speech Commands v0.02 stand-in (data_prep/synth_keywords.py)."""

import csv
import hashlib
import json
import os
import re

import numpy as np
import pytest
import soundfile as sf

from data_prep import synth_keywords as sk
from data_prep.synth_keywords import generate_keywords, which_set
from helpers import median_f0, run_script

WORDS = ["yes", "no", "sheila"]
ARGS = dict(seed=0, speakers_per_gender=2, takes=2, words=WORDS)
NAME = re.compile(r"^([0-9a-f]{8})_nohash_(\d+)\.wav$")


def all_files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def official_which_set(filename, validation_percentage=10, testing_percentage=10):
    """Independent transcription of tensorflow/examples/speech_commands/input_data.py."""
    base_name = os.path.basename(filename)
    hash_name = re.sub(r"_nohash_.*$", "", base_name)
    hashed = hashlib.sha1(hash_name.encode()).hexdigest()
    max_num_wavs_per_class = 2 ** 27 - 1
    percentage_hash = (int(hashed, 16) % (max_num_wavs_per_class + 1)) * (100.0 / max_num_wavs_per_class)
    if percentage_hash < validation_percentage:
        return "validation"
    if percentage_hash < testing_percentage + validation_percentage:
        return "testing"
    return "training"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return generate_keywords(tmp_path_factory.mktemp("kw") / "speech_commands", **ARGS)


def test_layout(corpus):
    top = sorted(p.name for p in corpus.iterdir())
    assert top == sorted(
        WORDS
        + ["_background_noise_", "speakers.csv", "synth_keywords.json",
           "testing_list.txt", "validation_list.txt"]
    )
    speakers = {r["speaker"] for r in csv.DictReader(open(corpus / "speakers.csv"))}
    assert len(speakers) == 4
    for word in WORDS:
        names = sorted(p.name for p in (corpus / word).iterdir())
        assert len(names) == 4 * 2
        found = {(NAME.match(n).group(1), int(NAME.match(n).group(2))) for n in names}
        assert found == {(s, t) for s in speakers for t in range(2)}
    noise = sorted(p.name for p in (corpus / "_background_noise_").iterdir())
    assert noise == ["brown_noise.wav", "pink_noise.wav", "white_noise.wav"]
    stamp = json.load(open(corpus / "synth_keywords.json"))
    assert stamp["arguments"]["words"] == WORDS and "SYNTHETIC" in stamp["note"]


def test_audio_format(corpus):
    for path in sorted(corpus.glob("*/*_nohash_*.wav")):
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, 1, 16000, "PCM_16")
        x, _ = sf.read(str(path), dtype="float32")
        peak = np.abs(x).max()
        assert 0.2 < peak < 1.0
        # a word, not noise: the loudest 100 ms is far above the quietest
        frames = np.sqrt(np.mean(x.reshape(10, 1600) ** 2, axis=1))
        assert frames.max() > 5 * frames.min()
    for path in (corpus / "_background_noise_").iterdir():
        info = sf.info(str(path))
        assert (info.samplerate, info.channels) == (16000, 1) and info.frames >= 10 * 16000


def test_speakers_csv(corpus):
    with open(corpus / "speakers.csv", newline="") as f:
        assert f.readline().strip() == "speaker,gender"
    rows = list(csv.DictReader(open(corpus / "speakers.csv")))
    assert sorted(r["gender"] for r in rows) == ["female", "female", "male", "male"]
    assert all(re.fullmatch(r"[0-9a-f]{8}", r["speaker"]) for r in rows)
    stamp = json.load(open(corpus / "synth_keywords.json"))
    voices = {s["speaker"]: s["voice"] for s in stamp["speakers"]}
    genders = sk.voice_variant_genders()
    for r in rows:
        assert genders[voices[r["speaker"]].split("+")[1]] == r["gender"]


def test_split_lists_follow_the_official_rule(corpus):
    wavs = [p.relative_to(corpus).as_posix() for p in corpus.glob("*/*_nohash_*.wav")]
    for split, name in (("validation", "validation_list.txt"), ("testing", "testing_list.txt")):
        listed = (corpus / name).read_text().split()
        assert all((corpus / rel).is_file() for rel in listed)
        assert listed == sorted(listed)
        assert set(listed) == {w for w in wavs if official_which_set(w) == split}


def test_which_set_matches_the_official_rule():
    names = ["%08x_nohash_0.wav" % i for i in range(0, 4000, 7)]
    got = [which_set("yes/" + n) for n in names]
    assert got == [official_which_set(n) for n in names]
    counts = {s: got.count(s) for s in ("training", "validation", "testing")}
    assert 0.05 < counts["validation"] / len(names) < 0.15
    assert 0.05 < counts["testing"] / len(names) < 0.15
    assert which_set("a/x_nohash_0.wav") == which_set("b/x_nohash_5.wav")


def test_genders_differ_acoustically(corpus):
    rows = list(csv.DictReader(open(corpus / "speakers.csv")))
    f0 = {"male": [], "female": []}
    for r in rows:
        for path in corpus.glob("*/%s_nohash_*.wav" % r["speaker"]):
            x, sr = sf.read(str(path), dtype="float32")
            f0[r["gender"]].append(median_f0(x, sr, require_voiced=False))
    assert np.nanmedian(f0["female"]) > 1.3 * np.nanmedian(f0["male"])


def test_deterministic_and_nested(corpus, tmp_path):
    again = generate_keywords(tmp_path / "again", **ARGS)
    files = all_files(corpus)
    assert all_files(again) == files
    for rel in files:
        assert (corpus / rel).read_bytes() == (again / rel).read_bytes(), rel
    # A corpus with fewer words has the very same files for those words.
    small = generate_keywords(tmp_path / "small", **dict(ARGS, words=["no"]))
    for path in (small / "no").iterdir():
        assert path.read_bytes() == (corpus / "no" / path.name).read_bytes()
    other = generate_keywords(tmp_path / "other", **dict(ARGS, seed=1, words=["no"]))
    assert sorted(p.name for p in (other / "no").iterdir()) != sorted(p.name for p in (small / "no").iterdir())


def test_idempotent(corpus):
    before = {rel: os.stat(corpus / rel).st_mtime_ns for rel in all_files(corpus)}
    assert generate_keywords(corpus, **ARGS) == corpus
    after = {rel: os.stat(corpus / rel).st_mtime_ns for rel in all_files(corpus)}
    assert before == after
    assert not [p for p in corpus.parent.iterdir() if p.name.startswith(".")]


def test_other_arguments_are_an_error(corpus):
    with pytest.raises(FileExistsError, match="another --out or delete it"):
        generate_keywords(corpus, **dict(ARGS, seed=1))
    with pytest.raises(FileExistsError, match="another --out or delete it"):
        generate_keywords(corpus, **dict(ARGS, takes=3))


def test_foreign_folder_is_an_error(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "something.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not a finished"):
        generate_keywords(tmp_path / "out", **dict(ARGS, words=["no"]))
    (tmp_path / "empty").mkdir()  # an empty folder is filled
    generate_keywords(tmp_path / "empty", **dict(ARGS, words=["no"]))
    assert (tmp_path / "empty" / "synth_keywords.json").is_file()


def test_interrupted_run_leaves_nothing(tmp_path, monkeypatch):
    calls = []
    real = sk.render_take

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(sk, "render_take", failing)
    with pytest.raises(KeyboardInterrupt):
        generate_keywords(tmp_path / "kw", **ARGS)
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(tmp_path):
    for bad in (dict(words=[]), dict(words=["yes", "yes"]), dict(words=["a/b"]), dict(takes=0),
                dict(speakers_per_gender=0)):
        with pytest.raises(ValueError):
            generate_keywords(tmp_path / "x", **dict(ARGS, **bad))
    assert not (tmp_path / "x").exists()


def test_speakers_are_stable_and_distinct():
    few, many = sk.make_speakers(0, 2), sk.make_speakers(0, 20)
    assert [s for s in many if s["index"] < 2] == few
    assert len({s["speaker"] for s in many}) == 40
    assert sk.make_speakers(1, 2) != few


def test_cli_runs_as_a_file(tmp_path):
    args = ["--out", tmp_path / "kw", "--seed", "3", "--speakers_per_gender", "1", "--takes", "1",
            "--words", "up", "down"]
    proc = run_script("data_prep/synth_keywords.py", *args)
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "kw").glob("*/*_nohash_0.wav"))) == 4
    again = run_script("data_prep/synth_keywords.py", *args)
    assert again.returncode == 0 and "nothing to do" in again.stderr
