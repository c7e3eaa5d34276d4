"""Tests of data_prep/synth_emotion.py: the synthetic CREMA-D-like and RAVDESS-like corpora.

A tiny corpus is generated once per module; the real-corpus readers
(data_prep/crema_d.py, ravdess.py, emotion.py) must read it unchanged.
"""

import collections
import os

import numpy as np
import pytest
import soundfile as sf

import data_prep.synth_emotion as se
from amls_speech.partitions import emotion_partition
from amls_speech.synth.espeak import voice_variant_genders
from data_prep.common import MANIFEST_NAMES, read_manifest
from data_prep.crema_d import list_crema_d, read_crema_demographics
from data_prep.emotion import prepare_emotion
from data_prep.generated_corpus import read_stamp
from data_prep.ravdess import list_ravdess

TINY = dict(
    seed=3,
    crema_actors=4,
    ravdess_actors=4,
    crema_sentences=["IEO", "DFA", "TSI"],
    ravdess_repetitions=1,
    workers=2,
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    base = tmp_path_factory.mktemp("synth_emo")
    return se.generate_emotion(base / "emo", **TINY)


def _active_level_and_seconds(wav, sr):
    hop = sr // 100
    n = wav.size // hop
    energy = np.mean(wav[: n * hop].reshape(n, hop) ** 2, axis=1)
    active = energy >= energy.max() * 10 ** (-2.5)  # within 25 dB of the loudest 10 ms
    return 10 * np.log10(energy[active].mean()), active.sum() / 100.0


def _median_f0(wav, sr):
    """Median F0 (Hz) by autocorrelation over the loud frames."""
    frame, hop = int(0.04 * sr), int(0.01 * sr)
    lo, hi = int(sr / 450), int(sr / 60)
    top = np.abs(wav).max()
    f0 = []
    for start in range(0, wav.size - frame, hop):
        x = wav[start: start + frame]
        if np.abs(x).max() < 0.2 * top:
            continue
        x = x - x.mean()
        ac = np.correlate(x, x, "full")[frame - 1:]
        k = lo + int(np.argmax(ac[lo:hi]))
        if ac[k] > 0.5 * ac[0]:
            f0.append(sr / k)
    return float(np.median(f0))


def test_crema_layout_read_by_the_real_parser(corpus):
    records = list_crema_d(str(corpus / "CREMA-D"))
    # per actor: IEO 5 emotions x LO/MD/HI + NEU XX, DFA and TSI 6 emotions x XX
    assert len(records) == 4 * (5 * 3 + 1 + 2 * 6)
    assert sorted({r.actor for r in records}) == ["1001", "1002", "1003", "1004"]
    assert {r.emotion for r in records} == {"ANG", "DIS", "FEA", "HAP", "NEU", "SAD"}
    levels = collections.defaultdict(set)
    for r in records:
        levels[(r.sentence, r.emotion)].add(r.level)
    for (sentence, emotion), found in levels.items():
        if sentence == "IEO" and emotion != "NEU":
            assert found == {"LO", "MD", "HI"}
        else:
            assert found == {"XX"}
    sexes = {r.actor: r.sex for r in records}
    assert sexes == {"1001": "male", "1002": "female", "1003": "male", "1004": "female"}


def test_crema_demographics_csv(corpus):
    path = corpus / "CREMA-D" / "VideoDemographics.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "ActorID,Age,Sex,Race,Ethnicity"
    assert len(lines) == 5
    for line in lines[1:]:
        actor, age, sex, race, ethnicity = line.split(",")
        assert 20 <= int(age) <= 74 and sex in ("Male", "Female") and race and ethnicity
    assert read_crema_demographics(str(corpus / "CREMA-D"))["1002"] == "female"


def test_ravdess_layout_read_by_the_real_parser(corpus):
    records = list_ravdess(str(corpus / "RAVDESS"))
    # per actor: neutral 1 intensity, 7 emotions x 2 intensities; 2 statements; 1 repetition
    assert len(records) == 4 * (1 + 7 * 2) * 2
    assert sorted({r.actor for r in records}) == ["01", "02", "03", "04"]
    assert {r.emotion for r in records} == set(se.RAVDESS_EMOTION_CODES.values())
    assert all(r.modality == "03" and r.channel == "speech" for r in records)
    assert all(r.sex == ("male" if int(r.actor) % 2 else "female") for r in records)
    assert {r.intensity for r in records if r.emotion == "neutral"} == {"normal"}
    assert {r.statement for r in records} == {"01", "02"} and {r.repetition for r in records} == {"01"}
    for r in records:
        assert os.path.basename(os.path.dirname(r.path)) == "Actor_" + r.actor


def test_sample_rates_and_format(corpus):
    crema = sorted((corpus / "CREMA-D" / "AudioWAV").glob("*.wav"))
    ravdess = sorted((corpus / "RAVDESS").glob("Actor_*/*.wav"))
    for paths, rate in ((crema, 16000), (ravdess, 48000)):
        for path in paths[::7]:
            info = sf.info(str(path))
            assert (info.samplerate, info.channels, info.subtype) == (rate, 1, "PCM_16")
            assert 0.8 < info.duration < 6.0
            wav, _ = sf.read(str(path))
            assert 0.01 < np.abs(wav).max() <= 1.0
    stamp = read_stamp(corpus, se.STAMP_NAME)
    assert stamp["crema_sentences"] == ["IEO", "DFA", "TSI"] and stamp["seed"] == 3


def test_prepare_emotion_end_to_end(corpus, tmp_path):
    paths = prepare_emotion(str(corpus / "CREMA-D"), str(corpus / "RAVDESS"), str(tmp_path / "man"))
    assert sorted(paths) == sorted(MANIFEST_NAMES)
    partition = emotion_partition()
    rows = {name: read_manifest(paths[name]) for name in MANIFEST_NAMES}
    assert all(rows[name] for name in MANIFEST_NAMES)
    source = rows["source_train"] + rows["source_valid"]
    target = rows["target_adapt"] + rows["target_test"]
    assert {r["label"] for r in source} == set(partition.source_classes)
    assert {r["label"] for r in target} == set(partition.target_classes)
    for r in source + target:
        assert r["label_set"] == partition.label_set(r["label"])
    assert {r["domain"] for r in source} == {"crema_d"} and {r["domain"] for r in target} == {"ravdess"}
    # CREMA-D DIS is dropped, RAVDESS happy/sad/neutral are dropped
    assert len(source) == 4 * (4 * 3 + 1 + 2 * 5)
    assert len(target) == 4 * 5 * 2 * 2
    for a, b in (("source_train", "source_valid"), ("target_adapt", "target_test")):
        assert not {r["speaker"] for r in rows[a]} & {r["speaker"] for r in rows[b]}


def test_deterministic_subset_and_worker_independent(corpus, tmp_path):
    small = dict(seed=3, crema_actors=2, ravdess_actors=2, crema_sentences=["DFA"],
                 crema_emotions=["ANG", "SAD"], ravdess_emotions=["angry", "02"],
                 ravdess_repetitions=1, workers=1)
    out = se.generate_emotion(tmp_path / "small", **small)
    files = sorted(p.relative_to(out) for p in out.rglob("*.wav"))
    assert len(files) == 2 * 2 + 2 * 2 * 2 * 2
    for rel in files:  # same bytes as in the bigger corpus made with 2 workers
        assert (out / rel).read_bytes() == (corpus / rel).read_bytes(), rel
    other = se.generate_emotion(tmp_path / "seed4", **dict(small, seed=4))
    rel = files[0]
    assert (other / rel).read_bytes() != (out / rel).read_bytes()


def test_idempotent_and_atomic(corpus, tmp_path, monkeypatch):
    stamp = corpus / se.STAMP_NAME
    mtime = stamp.stat().st_mtime_ns
    assert se.generate_emotion(corpus, **dict(TINY, workers=1)) == corpus  # nothing to do
    assert stamp.stat().st_mtime_ns == mtime
    with pytest.raises(FileExistsError, match="other arguments"):
        se.generate_emotion(corpus, **dict(TINY, seed=4))
    assert not [p for p in corpus.parent.iterdir() if ".partial-" in p.name]

    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "x.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not a finished"):
        se.generate_emotion(junk, crema_actors=1, ravdess_actors=1)

    calls = []

    def failing(job):
        calls.append(job)
        if len(calls) > 3:
            raise RuntimeError("boom")
        return job[1]

    monkeypatch.setattr(se, "_render_job", failing)
    with pytest.raises(RuntimeError, match="boom"):
        se.generate_emotion(tmp_path / "broken", crema_actors=1, ravdess_actors=1, workers=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk"]  # no corpus, no temp folder


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="ravdess_actors"):
        se.generate_emotion(tmp_path / "a", ravdess_actors=100)
    with pytest.raises(ValueError, match="unknown CREMA-D emotion"):
        se.generate_emotion(tmp_path / "a", crema_emotions=["XYZ"])
    with pytest.raises(ValueError, match="unknown RAVDESS emotion"):
        se.generate_emotion(tmp_path / "a", ravdess_emotions=["bored"])
    with pytest.raises(ValueError, match="unknown CREMA-D sentence"):
        se.generate_emotion(tmp_path / "a", crema_sentences=["ABC"])
    assert not (tmp_path / "a").exists()


def test_voices_disjoint_and_valid():
    genders = voice_variant_genders()
    pools = {
        "crema": se.CREMA_MALE_VARIANTS + se.CREMA_FEMALE_VARIANTS,
        "ravdess": se.RAVDESS_MALE_VARIANTS + se.RAVDESS_FEMALE_VARIANTS,
    }
    assert not set(pools["crema"]) & set(pools["ravdess"])
    for male, female in ((se.CREMA_MALE_VARIANTS, se.CREMA_FEMALE_VARIANTS),
                         (se.RAVDESS_MALE_VARIANTS, se.RAVDESS_FEMALE_VARIANTS)):
        assert all(genders.get(v) == "male" for v in male)
        assert all(genders.get(v) == "female" for v in female)
    crema = {a["voice"] for a in se.make_crema_actors(0, 24)}
    ravdess = {a["voice"] for a in se.make_ravdess_actors(0, 12)}
    assert not crema & ravdess and len(crema) >= 16 and len(ravdess) >= 10


def test_presets_keep_the_emotion_ordering_and_differ_between_corpora():
    for presets in (se.CREMA_PRESETS, se.RAVDESS_PRESETS):
        assert set(presets) == set(se.RAVDESS_EMOTION_CODES.values())
        neutral, angry, sad, fear = (presets[k] for k in ("neutral", "angry", "sad", "fearful"))
        assert angry.gain_db > neutral.gain_db > sad.gain_db
        assert fear.rate > neutral.rate > sad.rate and angry.rate > neutral.rate
        assert fear.pitch > angry.pitch > neutral.pitch > sad.pitch
        assert angry.tilt_db > neutral.tilt_db > sad.tilt_db
        assert presets["calm"].gain_db < neutral.gain_db
    assert any(se.CREMA_PRESETS[k] != se.RAVDESS_PRESETS[k] for k in se.CREMA_PRESETS if k != "neutral")
    assert se.CREMA_PRESETS["angry"].scaled(0) == se.CREMA_PRESETS["neutral"]


def test_acted_prosody_is_measurable(corpus):
    """Angry is louder, faster and higher than sad for every actor of both corpora."""
    pairs = []
    wav_dir = corpus / "CREMA-D" / "AudioWAV"
    for actor in ("1001", "1002", "1003", "1004"):
        for sentence in ("DFA", "TSI"):
            pairs.append((wav_dir / ("%s_%s_ANG_XX.wav" % (actor, sentence)),
                          wav_dir / ("%s_%s_SAD_XX.wav" % (actor, sentence))))
    for actor in ("01", "02", "03", "04"):
        for stmt in ("01", "02"):
            name = "Actor_%s/03-01-%%s-02-%s-01-%s.wav" % (actor, stmt, actor)
            pairs.append((corpus / "RAVDESS" / (name % "05"), corpus / "RAVDESS" / (name % "04")))
    level_diff, speed_ratio, f0_ratio = [], [], []
    for angry_path, sad_path in pairs:
        (angry, sr), (sad, _) = sf.read(str(angry_path)), sf.read(str(sad_path))
        (la, sa), (ls, ss) = _active_level_and_seconds(angry, sr), _active_level_and_seconds(sad, sr)
        level_diff.append(la - ls)
        speed_ratio.append(ss / sa)
        f0_ratio.append(_median_f0(angry, sr) / _median_f0(sad, sr))
    level_diff, speed_ratio, f0_ratio = map(np.array, (level_diff, speed_ratio, f0_ratio))
    assert level_diff.min() > 5 and level_diff.mean() > 12, level_diff
    assert speed_ratio.min() > 1.15 and speed_ratio.mean() > 1.4, speed_ratio
    assert np.median(f0_ratio) > 1.25, f0_ratio
