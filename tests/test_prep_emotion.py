"""Tests of data_prep/crema_d.py, ravdess.py and emotion.py on tiny fake corpora."""

import json
import logging
import os

import numpy as np
import pytest
import soundfile as sf

from amls_speech.partitions import SHARED, SOURCE_PRIVATE, TARGET_PRIVATE, emotion_partition
from data_prep.common import MANIFEST_FIELDS, AudioFileError, EmptySetError, read_manifest
from data_prep.crema_d import list_crema_d, parse_crema_name
from data_prep.emotion import check_emotion_map, prepare_emotion
from data_prep.ravdess import list_ravdess, parse_ravdess_name
from helpers import run_script

CREMA_ACTORS = ["1001", "1002", "1003", "1004"]  # 1004 has no demographics row
RAVDESS_ACTORS = ["01", "02", "03", "04"]
EXPECTED_NUMBER = {
    "Angry": 1, "Calm": 2, "Disgust": 3, "Fear": 4, "Happy": 5, "Sad": 6, "Surprise": 7,
}


def _wav(path, sr):
    sf.write(path, np.random.RandomState(len(path)).randn(sr // 10) * 0.01, sr)


def make_crema(root):
    wav_dir = os.path.join(root, "AudioWAV")
    os.makedirs(wav_dir)
    for actor in CREMA_ACTORS:
        for emo in ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD"):
            _wav(os.path.join(wav_dir, "%s_DFA_%s_XX.wav" % (actor, emo)), 16000)
        _wav(os.path.join(wav_dir, "%s_IEO_ANG_HI.wav" % actor), 16000)
    with open(os.path.join(root, "VideoDemographics.csv"), "w") as f:
        f.write("ActorID,Age,Sex,Race,Ethnicity\n")
        f.write("1001,51,Male,Caucasian,Not Hispanic\n1002,21,Female,Caucasian,Not Hispanic\n")
        f.write("1003,21,Female,Caucasian,Not Hispanic\n")
    return root


def make_ravdess(root):
    for actor in RAVDESS_ACTORS:
        d = os.path.join(root, "Actor_%s" % actor)
        os.makedirs(d)
        for emo in range(1, 9):
            _wav(os.path.join(d, "03-01-%02d-01-01-01-%s.wav" % (emo, actor)), 48000)
        # song files (vocal channel 02) must be skipped
        _wav(os.path.join(d, "03-02-02-01-01-01-%s.wav" % actor), 48000)
    return root


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    base = tmp_path_factory.mktemp("emo")
    return make_crema(str(base / "CREMA-D")), make_ravdess(str(base / "RAVDESS"))


@pytest.fixture(scope="module")
def c2r(corpora, tmp_path_factory):
    paths = prepare_emotion(*corpora, str(tmp_path_factory.mktemp("c2r")))
    return paths, {n: read_manifest(p) for n, p in paths.items()}


# --- parsing -------------------------------------------------------------------


def test_parse_crema_name():
    r = parse_crema_name("/x/AudioWAV/1091_TSI_FEA_LO.wav")
    assert (r.actor, r.sentence, r.emotion, r.level) == ("1091", "TSI", "FEA", "LO")
    assert parse_crema_name("1040_ITH_SAD_X.wav").level == "XX"  # old release typo
    with pytest.raises(ValueError, match="1001_DFA_BOR_XX.wav: unknown CREMA-D emotion code 'BOR'"):
        parse_crema_name("1001_DFA_BOR_XX.wav")
    with pytest.raises(ValueError, match="1001_DFA_ANG.wav: not a CREMA-D file name"):
        parse_crema_name("1001_DFA_ANG.wav")
    with pytest.raises(ValueError, match="unknown CREMA-D level 'QQ'"):
        parse_crema_name("1001_DFA_ANG_QQ.wav")


def test_parse_ravdess_name():
    r = parse_ravdess_name("Actor_12/03-01-08-02-02-01-12.wav")
    assert (r.modality, r.channel, r.emotion, r.intensity, r.actor, r.sex) == (
        "03", "speech", "surprised", "strong", "12", "female",
    )
    assert parse_ravdess_name("03-02-02-01-01-01-07.wav").channel == "song"
    with pytest.raises(ValueError, match="03-01-00-01-01-01-01.wav: unknown RAVDESS emotion code '00'"):
        parse_ravdess_name("Actor_01/03-01-00-01-01-01-01.wav")
    with pytest.raises(ValueError, match="not a RAVDESS file name"):
        parse_ravdess_name("03-01-01-01-01-01.wav")
    with pytest.raises(ValueError, match="vocal channel code '03'"):
        parse_ravdess_name("03-03-01-01-01-01-01.wav")


def test_list_crema_missing_demographics_row(corpora, caplog):
    with caplog.at_level(logging.WARNING):
        recs = list_crema_d(corpora[0])
    assert len(recs) == 4 * 7
    sex = {r.actor: r.sex for r in recs}
    assert sex == {"1001": "male", "1002": "female", "1003": "female", "1004": "unknown"}
    assert "have no row in VideoDemographics.csv: ['1004']" in caplog.text


def test_list_ravdess_skips_song(corpora, caplog):
    with caplog.at_level(logging.INFO):
        recs = list_ravdess(corpora[1])
    assert len(recs) == 4 * 8 and all(r.channel == "speech" for r in recs)
    assert "skipped 4 song file(s)" in caplog.text
    assert {r.sex for r in recs if r.actor in ("01", "03")} == {"male"}


def test_missing_folders_raise(tmp_path):
    with pytest.raises(FileNotFoundError, match="AudioWAV not found"):
        list_crema_d(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no Actor_XX folder"):
        list_ravdess(str(tmp_path))


# --- the task ------------------------------------------------------------------


def test_partition_class_by_class(c2r):
    paths, m = c2r
    with open(paths["target_test"]) as f:
        assert f.readline().strip() == ",".join(MANIFEST_FIELDS)
    p = emotion_partition()
    source = m["source_train"] + m["source_valid"]
    target = m["target_adapt"] + m["target_test"]
    for cls, number in EXPECTED_NUMBER.items():
        s_rows = [r for r in source if r["label"] == cls]
        t_rows = [r for r in target if r["label"] == cls]
        for r in s_rows + t_rows:
            assert int(r["class_number"]) == number and r["label_set"] == p.label_set(cls)
        if p.label_set(cls) == SHARED:
            assert s_rows and t_rows
        elif p.label_set(cls) == SOURCE_PRIVATE:
            assert s_rows and not t_rows
        else:
            assert t_rows and not s_rows
    assert {r["label_set"] for r in source} == {SHARED, SOURCE_PRIVATE}
    assert {r["label_set"] for r in target} == {SHARED, TARGET_PRIVATE}
    assert {r["domain"] for r in source} == {"crema_d"} and {r["domain"] for r in target} == {"ravdess"}


def test_default_mappings(c2r):
    _, m = c2r
    source = m["source_train"] + m["source_valid"]
    target = m["target_adapt"] + m["target_test"]
    code = lambda r: os.path.basename(r["wav"]).split("_")[2]  # noqa: E731
    assert {r["label"] for r in source if code(r) == "NEU"} == {"Calm"}
    assert {r["label"] for r in source if code(r) == "ANG"} == {"Angry"}
    assert not [r for r in source if code(r) == "DIS"]  # Disgust is target-private
    assert len(source) == 4 * 6  # 7 files per actor, DIS dropped
    emo = lambda r: os.path.basename(r["wav"]).split("-")[2]  # noqa: E731
    assert {emo(r) for r in target} == {"02", "05", "06", "07", "08"}  # no neutral/happy/sad
    assert {r["label"] for r in target if emo(r) == "02"} == {"Calm"}
    assert {r["label"] for r in target if emo(r) == "08"} == {"Surprise"}
    assert not [r for r in target if os.path.basename(r["wav"]).startswith("03-02-")]
    # 1004 has no demographics row: kept
    assert "1004" in {r["speaker"] for r in source}


def test_speaker_disjoint_splits(c2r):
    _, m = c2r
    for a, b in (("source_train", "source_valid"), ("target_adapt", "target_test")):
        sa, sb = {r["speaker"] for r in m[a]}, {r["speaker"] for r in m[b]}
        assert sa and sb and not sa & sb
    assert {r["speaker"] for r in m["target_adapt"] + m["target_test"]} == {
        "Actor_01", "Actor_02", "Actor_03", "Actor_04",
    }
    assert {float(r["duration"]) for r in m["target_test"]} == {0.1}  # 48 kHz header read


def test_mapping_validation():
    p = emotion_partition()
    with pytest.raises(ValueError, match="'DIS' maps to 'Disgust', which is target_private"):
        check_emotion_map({"DIS": "Disgust"}, "crema_d", p, "source")
    with pytest.raises(ValueError, match="'happy' maps to 'Happy', which is source_private"):
        check_emotion_map({"happy": "Happy"}, "ravdess", p, "target")
    with pytest.raises(ValueError, match="emotion 'BOR' is unknown"):
        check_emotion_map({"BOR": "Calm"}, "crema_d", p, "source")
    with pytest.raises(ValueError, match="not a class of the partition"):
        check_emotion_map({"neu": "Neutral"}, "crema_d", p, "source")
    assert check_emotion_map({"neu": "Calm"}, "crema_d", p, "source")["NEU"] == "Calm"


def test_custom_map_and_idempotence(corpora, tmp_path, caplog):
    save = str(tmp_path)
    paths = prepare_emotion(*corpora, save)
    files = list(paths.values()) + [os.path.join(save, "prepare.json")]
    before = {p: (os.stat(p).st_mtime_ns, os.stat(p).st_ino) for p in files}
    with caplog.at_level(logging.INFO):
        prepare_emotion(*corpora, save)
    assert "already prepared" in caplog.text
    assert before == {p: (os.stat(p).st_mtime_ns, os.stat(p).st_ino) for p in files}
    # RAVDESS neutral (code 01) also counted as Calm: a different task -> rewritten
    rmap = {"01": "Calm", "calm": "Calm", "angry": "Angry", "fearful": "Fear",
            "disgust": "Disgust", "surprised": "Surprise"}
    prepare_emotion(*corpora, save, ravdess_map=rmap)
    assert all(os.stat(p).st_ino != before[p][1] for p in files)
    tgt = read_manifest(paths["target_adapt"]) + read_manifest(paths["target_test"])
    assert len([r for r in tgt if r["label"] == "Calm"]) == 8


def test_unknown_emotion_code_in_corpus_raises(tmp_path):
    crema = make_crema(str(tmp_path / "c"))
    ravdess = make_ravdess(str(tmp_path / "r"))
    bad = os.path.join(crema, "AudioWAV", "1002_DFA_BOR_XX.wav")
    _wav(bad, 16000)
    with pytest.raises(ValueError, match="1002_DFA_BOR_XX.wav: unknown CREMA-D emotion"):
        prepare_emotion(crema, ravdess, str(tmp_path / "s"))
    os.remove(bad)
    bad = os.path.join(ravdess, "Actor_02", "03-01-09-01-01-01-02.wav")
    _wav(bad, 48000)
    with pytest.raises(ValueError, match="03-01-09-01-01-01-02.wav: unknown RAVDESS emotion"):
        prepare_emotion(crema, ravdess, str(tmp_path / "s"))


def test_corrupt_and_empty_wav_raise(tmp_path):
    crema = make_crema(str(tmp_path / "c"))
    ravdess = make_ravdess(str(tmp_path / "r"))
    bad = os.path.join(ravdess, "Actor_03", "03-01-07-01-01-01-03.wav")
    with open(bad, "wb") as f:
        f.write(b"\xde\xad\xbe\xef" * 40)
    with pytest.raises(AudioFileError, match="03-01-07-01-01-01-03.wav.*delete or re-download"):
        prepare_emotion(crema, ravdess, str(tmp_path / "s"))
    empty = os.path.join(crema, "AudioWAV", "1003_DFA_HAP_XX.wav")
    sf.write(empty, np.zeros(0), 16000)
    os.remove(bad)
    with pytest.raises(AudioFileError, match="1003_DFA_HAP_XX.wav is empty"):
        prepare_emotion(crema, ravdess, str(tmp_path / "s"))


def test_empty_target_raises(corpora, tmp_path):
    with pytest.raises(EmptySetError, match="no target .RAVDESS. data found in .*ravdess_map"):
        prepare_emotion(*corpora, str(tmp_path), ravdess_map={})


def test_cli(corpora, tmp_path):
    out = run_script(
        "data_prep/emotion.py",
        "--crema_folder", corpora[0],
        "--ravdess_folder", corpora[1],
        "--save_folder", str(tmp_path),
        "--crema_map", "ANG=Angry,FEA=Fear,HAP=Happy,NEU=Calm,SAD=Sad,DIS=none",
    )
    assert out.returncode == 0, out.stderr
    paths = json.loads(out.stdout)
    labels = {r["label"] for r in read_manifest(paths["source_train"]) + read_manifest(paths["source_valid"])}
    assert labels == {"Angry", "Calm", "Fear", "Happy", "Sad"}
