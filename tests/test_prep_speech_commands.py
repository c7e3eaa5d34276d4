"""Tests of data_prep/speech_commands.py on a tiny fake corpus in the real layout."""

import json
import logging
import os

import numpy as np
import pytest
import soundfile as sf

from amls_speech.partitions import (
    SHARED,
    SOURCE_PRIVATE,
    SPEECH_COMMANDS_WORDS,
    TARGET_PRIVATE,
    gender_partition,
)
from data_prep.common import MANIFEST_FIELDS, AudioFileError, EmptySetError, read_manifest
from data_prep.speech_commands import prepare_speech_commands, read_gender_csv
from helpers import run_script


# Male: m1 in neither list (train), m2 in validation_list, m3 in testing_list.
# Female: f2 in validation_list (used when female is the source).
MALE = ["aaaa0001", "aaaa0002", "aaaa0003"]
FEMALE = ["bbbb0001", "bbbb0002", "bbbb0003"]
UNLISTED = "cccc0009"  # not in the gender CSV
GENDER_CSV = (
    "speaker,gender\n"
    "aaaa0001,M\naaaa0002,male\naaaa0003,Male\n"
    "bbbb0001,F\nbbbb0002,female\nbbbb0003,FEMALE\n"
)


def make_corpus(root):
    rng = np.random.RandomState(0)
    for word in SPEECH_COMMANDS_WORDS:
        os.makedirs(os.path.join(root, word))
        for spk in MALE + FEMALE + [UNLISTED]:
            sf.write(
                os.path.join(root, word, "%s_nohash_0.wav" % spk), rng.randn(1600) * 0.01, 16000
            )
    noise = os.path.join(root, "_background_noise_")
    os.makedirs(noise)
    with open(os.path.join(noise, "white_noise.wav"), "wb") as f:
        f.write(b"not audio: the folder must be skipped")
    with open(os.path.join(root, "validation_list.txt"), "w") as f:
        f.writelines(
            "%s/%s_nohash_0.wav\n" % (w, s) for w in SPEECH_COMMANDS_WORDS for s in (MALE[1], FEMALE[1])
        )
    with open(os.path.join(root, "testing_list.txt"), "w") as f:
        f.writelines("%s/%s_nohash_0.wav\n" % (w, MALE[2]) for w in SPEECH_COMMANDS_WORDS)
    for name in ("LICENSE", "README.md", ".DS_Store"):
        with open(os.path.join(root, name), "w") as f:
            f.write("x\n")
    gender = os.path.join(os.path.dirname(root), "gender.csv")
    with open(gender, "w") as f:
        f.write(GENDER_CSV)
    return root, gender


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(str(tmp_path_factory.mktemp("sc") / "speech_commands_v0.02"))


@pytest.fixture(scope="module")
def m2f(corpus, tmp_path_factory):
    data, gender = corpus
    save = str(tmp_path_factory.mktemp("m2f"))
    paths = prepare_speech_commands(data, gender, save, source="male")
    return paths, {n: read_manifest(p) for n, p in paths.items()}


def test_columns_and_rows(m2f):
    paths, m = m2f
    assert sorted(paths) == ["source_train", "source_valid", "target_adapt", "target_test"]
    for name, path in paths.items():
        with open(path) as f:
            assert f.readline().strip() == ",".join(MANIFEST_FIELDS)
        for r in m[name]:
            assert os.path.isabs(r["wav"]) and os.path.isfile(r["wav"])
            assert float(r["duration"]) == pytest.approx(0.1)
            assert r["label"] == os.path.basename(os.path.dirname(r["wav"]))
            assert r["speaker"] == os.path.basename(r["wav"]).split("_nohash_")[0]
    assert all(r["domain"] == "male" for n in ("source_train", "source_valid") for r in m[n])
    assert all(r["domain"] == "female" for n in ("target_adapt", "target_test") for r in m[n])


def test_partition_class_by_class(m2f):
    _, m = m2f
    p = gender_partition()
    source = m["source_train"] + m["source_valid"]
    target = m["target_adapt"] + m["target_test"]
    for number, word in enumerate(sorted(SPEECH_COMMANDS_WORDS), start=1):
        s_rows = [r for r in source if r["label"] == word]
        t_rows = [r for r in target if r["label"] == word]
        for r in s_rows + t_rows:
            assert int(r["class_number"]) == number
            assert r["label_set"] == p.label_set(word)
        if p.label_set(word) == SHARED:
            assert len(s_rows) == 3 and len(t_rows) == 3
        elif p.label_set(word) == SOURCE_PRIVATE:
            assert len(s_rows) == 3 and not t_rows
        else:
            assert not s_rows and len(t_rows) == 3
    # the paper's numbers: source-private {33,3,7,8,10,14,20,21,23,26}
    sp = {int(r["class_number"]) for r in source if r["label_set"] == SOURCE_PRIVATE}
    assert sp == {33, 3, 7, 8, 10, 14, 20, 21, 23, 26}
    sh = {int(r["class_number"]) for r in target if r["label_set"] == SHARED}
    assert sh == {4, 5, 9, 11, 12, 15, 17, 24, 27, 28}
    assert {r["label_set"] for r in source} == {SHARED, SOURCE_PRIVATE}
    assert {r["label_set"] for r in target} == {SHARED, TARGET_PRIVATE}
    assert len({int(r["class_number"]) for r in target if r["label_set"] == TARGET_PRIVATE}) == 15


def test_official_lists_and_target_split(m2f):
    _, m = m2f
    assert {r["speaker"] for r in m["source_train"]} == {MALE[0]}
    assert {r["speaker"] for r in m["source_valid"]} == {MALE[1], MALE[2]}
    adapt = {r["speaker"] for r in m["target_adapt"]}
    test = {r["speaker"] for r in m["target_test"]}
    assert adapt and test and not adapt & test and adapt | test == set(FEMALE)
    ids = [r["ID"] for rows in m.values() for r in rows]
    assert len(ids) == len(set(ids))


def test_unlisted_speaker_and_background_noise_skipped(m2f):
    _, m = m2f
    rows = [r for rows in m.values() for r in rows]
    assert all(r["speaker"] != UNLISTED for r in rows)
    assert all("_background_noise_" not in r["wav"] for r in rows)


def test_unlisted_speaker_count_logged(corpus, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        prepare_speech_commands(*corpus, str(tmp_path), source="female")
    assert "1 speaker(s) (35 files) are not in the gender CSV" in caplog.text


def test_female_to_male(corpus, tmp_path):
    paths = prepare_speech_commands(*corpus, str(tmp_path), source="F")
    src = read_manifest(paths["source_train"]) + read_manifest(paths["source_valid"])
    tgt = read_manifest(paths["target_adapt"]) + read_manifest(paths["target_test"])
    assert {r["speaker"] for r in src} == set(FEMALE)
    assert {r["domain"] for r in src} == {"female"} and {r["domain"] for r in tgt} == {"male"}
    assert {r["speaker"] for r in read_manifest(paths["source_valid"])} == {FEMALE[1]}
    assert {r["speaker"] for r in tgt} == set(MALE)  # the lists do not touch the target


def test_empty_source_valid_raises(tmp_path):
    data, gender = make_corpus(str(tmp_path / "sc"))
    for name in ("validation_list.txt", "testing_list.txt"):
        open(os.path.join(data, name), "w").close()
    with pytest.raises(EmptySetError, match="no source_valid .male. data found"):
        prepare_speech_commands(data, gender, str(tmp_path / "s"))


def test_idempotent_then_rerun_with_other_args(corpus, tmp_path, caplog):
    data, gender = corpus
    paths = prepare_speech_commands(data, gender, str(tmp_path), valid_ratio=0.4)
    files = list(paths.values()) + [str(tmp_path / "prepare.json")]
    before = {p: (os.stat(p).st_mtime_ns, os.stat(p).st_ino) for p in files}
    with caplog.at_level(logging.INFO):
        prepare_speech_commands(data, gender, str(tmp_path), valid_ratio=0.4)
    assert "already prepared" in caplog.text
    assert before == {p: (os.stat(p).st_mtime_ns, os.stat(p).st_ino) for p in files}
    # speaker-ratio split of the source instead of the lists
    train = {r["speaker"] for r in read_manifest(paths["source_train"])}
    valid = {r["speaker"] for r in read_manifest(paths["source_valid"])}
    assert train and valid and not train & valid
    prepare_speech_commands(data, gender, str(tmp_path), valid_ratio=0.4, seed=99)
    after = {p: (os.stat(p).st_mtime_ns, os.stat(p).st_ino) for p in files}
    assert all(after[p] != before[p] for p in files)
    assert json.load(open(tmp_path / "prepare.json"))["seed"] == 99


def test_gender_csv_change_redoes(tmp_path):
    data, gender = make_corpus(str(tmp_path / "sc"))
    save = str(tmp_path / "save")
    prepare_speech_commands(data, gender, save)
    with open(gender, "a") as f:
        f.write("%s,f\n" % UNLISTED)
    paths = prepare_speech_commands(data, gender, save)
    tgt = read_manifest(paths["target_adapt"]) + read_manifest(paths["target_test"])
    assert UNLISTED in {r["speaker"] for r in tgt}


def test_corrupt_and_empty_wav_raise_naming_file(tmp_path):
    data, gender = make_corpus(str(tmp_path / "sc"))
    bad = os.path.join(data, "yes", "%s_nohash_0.wav" % FEMALE[0])
    with open(bad, "wb") as f:
        f.write(os.urandom(200))
    with pytest.raises(AudioFileError, match=r"yes/bbbb0001_nohash_0.wav.*delete or re-download"):
        prepare_speech_commands(data, gender, str(tmp_path / "s1"))
    sf.write(bad, np.zeros(0), 16000)
    with pytest.raises(AudioFileError, match=r"yes/bbbb0001_nohash_0.wav is empty"):
        prepare_speech_commands(data, gender, str(tmp_path / "s2"))
    assert not os.path.exists(tmp_path / "s2" / "prepare.json")


def test_empty_target_raises(corpus, tmp_path):
    data, _ = corpus
    only_male = tmp_path / "g.csv"
    only_male.write_text("speaker,gender\n" + "".join("%s,m\n" % s for s in MALE))
    with pytest.raises(EmptySetError, match="no target data .female. found in .*gender CSV"):
        prepare_speech_commands(data, str(only_male), str(tmp_path / "s"))


def test_single_target_speaker_raises(corpus, tmp_path):
    data, _ = corpus
    g = tmp_path / "g.csv"
    g.write_text("speaker,gender\n" + "".join("%s,m\n" % s for s in MALE) + "bbbb0001,f\n")
    with pytest.raises(ValueError, match="target .female. speakers.*found 1 speaker"):
        prepare_speech_commands(data, str(g), str(tmp_path / "s"))


def test_gender_csv_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("speaker,gender\nx,robot\n")
    with pytest.raises(ValueError, match="line 2: gender 'robot'"):
        read_gender_csv(str(bad))
    nohdr = tmp_path / "nohdr.csv"
    nohdr.write_text("x,m\n")
    with pytest.raises(ValueError, match="speaker,gender"):
        read_gender_csv(str(nohdr))
    clash = tmp_path / "clash.csv"
    clash.write_text("speaker,gender\nx,m\nx,f\n")
    with pytest.raises(ValueError, match="both male and female"):
        read_gender_csv(str(clash))


def test_missing_class_folder_and_list(tmp_path):
    data, gender = make_corpus(str(tmp_path / "sc"))
    os.remove(os.path.join(data, "testing_list.txt"))
    with pytest.raises(FileNotFoundError, match="testing_list.txt not found"):
        prepare_speech_commands(data, gender, str(tmp_path / "s"))
    os.rename(os.path.join(data, "zero"), os.path.join(data, "zer0"))
    with pytest.raises(FileNotFoundError, match=r"no word folder for class\(es\) \['zero'\]"):
        prepare_speech_commands(data, gender, str(tmp_path / "s"), valid_ratio=0.4)


def test_cli(corpus, tmp_path):
    data, gender = corpus
    save = tmp_path / "cli"
    out = run_script(
        "data_prep/speech_commands.py",
        "--data_folder", data,
        "--gender_csv", gender,
        "--save_folder", str(save),
        "--source", "female",
        "--seed", "3",
    )
    assert out.returncode == 0, out.stderr
    paths = json.loads(out.stdout)
    assert paths["target_test"] == str(save / "target_test.csv")
    assert {r["domain"] for r in read_manifest(paths["target_adapt"])} == {"male"}
    assert json.load(open(save / "prepare.json"))["source"] == "female"
