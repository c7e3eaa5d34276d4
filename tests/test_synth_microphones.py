"""Tests of the simulated microphones and of the Mic2Mic stand-in renderer."""

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from amls_speech.synth import microphones as mics
from amls_speech.synth.microphones import (
    DEVICES,
    SAMPLE_RATE,
    BandPass,
    Clip,
    Compressor,
    Device,
    Gain,
    Hum,
    MuLawCodec,
    NoiseFloor,
    Peaking,
    Room,
    file_seed,
    rms_dbfs,
)
from data_prep.synth_microphones import STAMP_NAME, render_microphones
from helpers import run_script

SR = SAMPLE_RATE
WORDS = ["no", "up", "yes"]
SPEAKERS = {"0a1b2c3d": "male", "9f8e7d6c": "female"}
LEAD = SR // 4  # digital silence before and after each clip's sound
FOLDERS = {"M": "matrix", "R": "respeaker", "U": "usb"}


def tone(freq, n=SR, amp=0.5):
    return amp * np.sin(2 * np.pi * freq * np.arange(n) / SR)


def band_fraction(x, lo, hi):
    """Fraction of the energy of ``x`` between ``lo`` and ``hi`` Hz."""
    spec = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / SR)
    return spec[(freqs >= lo) & (freqs < hi)].sum() / spec.sum()


def centroid(x):
    spec = np.abs(np.fft.rfft(x)) ** 2
    return float((spec * np.fft.rfftfreq(x.size, 1.0 / SR)).sum() / spec.sum())


def clean_clip(word, speaker, take):
    """1 s: silence, a 0.5 s word-specific synthetic sound, silence."""
    rng = np.random.default_rng([WORDS.index(word), list(SPEAKERS).index(speaker), take])
    n = SR // 2
    t = np.arange(n) / SR
    f0 = 110.0 * (1.5 if SPEAKERS[speaker] == "female" else 1.0)
    if word == "yes":  # chirp 200 Hz -> 6 kHz
        sound = np.sin(2 * np.pi * (200 * t + (5800 / (2 * t[-1])) * t ** 2))
    elif word == "no":  # harmonic "vowel" with a low fundamental
        sound = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 25))
    else:  # noise burst
        sound = rng.standard_normal(n)
    sound *= np.hanning(n) ** 0.3
    sound *= (0.4 + 0.1 * take) / np.abs(sound).max()
    return np.concatenate([np.zeros(LEAD), sound, np.zeros(SR - LEAD - n)])


def make_keywords(root):
    root = Path(root)
    for word in WORDS:
        (root / word).mkdir(parents=True)
        for spk in SPEAKERS:
            for take in range(2):
                sf.write(
                    str(root / word / ("%s_nohash_%d.wav" % (spk, take))),
                    clean_clip(word, spk, take), SR, subtype="PCM_16",
                )
    with open(root / "speakers.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["speaker", "gender"])
        w.writerows(SPEAKERS.items())
    (root / "_background_noise_").mkdir()  # ignored: not a word asked for
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    base = tmp_path_factory.mktemp("mics")
    keywords = make_keywords(base / "kw")
    out = render_microphones(keywords, base / "out", words=WORDS, seed=3, workers=2)
    return keywords, out


def load(path):
    x, sr = sf.read(str(path))
    assert sr == SR
    return x


# --------------------------------------------------------------------------
# The renderer
# --------------------------------------------------------------------------


def test_layout_format_and_length(corpus):
    keywords, out = corpus
    assert sorted(p.name for p in out.iterdir()) == sorted(
        list(FOLDERS.values()) + ["speakers.csv", STAMP_NAME]
    )
    assert (out / "speakers.csv").read_bytes() == (keywords / "speakers.csv").read_bytes()
    clean = sorted(str(p.relative_to(keywords)) for p in keywords.glob("*/*_nohash_*.wav"))
    assert len(clean) == 12
    for folder in FOLDERS.values():
        got = sorted(str(p.relative_to(out / folder)) for p in (out / folder).rglob("*.wav"))
        assert got == clean
        for rel in clean:
            info = sf.info(str(out / folder / rel))
            assert (info.samplerate, info.channels, info.frames) == (SR, 1, SR)
            assert info.subtype == "PCM_16"
    assert not [p for p in out.parent.iterdir() if ".partial-" in p.name]


def test_deterministic_and_independent_of_workers(corpus, tmp_path):
    keywords, out = corpus
    again = render_microphones(keywords, tmp_path / "again", words=WORDS, seed=3, workers=1)
    for p in sorted(out.rglob("*")):
        if p.is_file():
            assert (again / p.relative_to(out)).read_bytes() == p.read_bytes(), p
    other = render_microphones(keywords, tmp_path / "seed4", devices="M", words=["up"], seed=4,
                               workers=1)
    rel = Path("matrix/up/0a1b2c3d_nohash_0.wav")
    assert (other / rel).read_bytes() != (out / rel).read_bytes()


def test_idempotent_and_refuses_other_arguments(corpus):
    keywords, out = corpus
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert render_microphones(keywords, out, words=list(reversed(WORDS)), seed=3) == out
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == mtimes
    with pytest.raises(FileExistsError, match="seed"):
        render_microphones(keywords, out, words=WORDS, seed=4)
    with pytest.raises(FileExistsError, match="mic_folders"):
        render_microphones(keywords, out, words=WORDS, seed=3, mic_folders={"U": "usb2"})
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == mtimes


def test_refuses_foreign_folder_and_bad_arguments(corpus, tmp_path):
    keywords, _ = corpus
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not a finished"):
        render_microphones(keywords, tmp_path / "busy", words=WORDS)
    with pytest.raises(ValueError, match="unknown device"):
        render_microphones(keywords, tmp_path / "o", devices="M,X", words=WORDS)
    with pytest.raises(FileNotFoundError, match="lacks the word folder"):
        render_microphones(keywords, tmp_path / "o")  # default: the 31 Mic2Mic words
    assert not (tmp_path / "o").exists()


def test_failure_leaves_nothing_behind(tmp_path):
    keywords = make_keywords(tmp_path / "kw")
    (keywords / "up" / "0a1b2c3d_nohash_9.wav").write_bytes(b"not a wav")
    with pytest.raises(ValueError, match="nohash_9"):
        render_microphones(keywords, tmp_path / "out", words=WORDS, workers=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kw"]


def test_cli_runs_as_a_file(tmp_path):
    keywords = make_keywords(tmp_path / "kw")
    res = run_script(
        "data_prep/synth_microphones.py", "--keywords", keywords, "--out", tmp_path / "out",
        "--devices", "U,M", "--words", "yes", "--mic_folders", "U=usb_mic", "--workers", "1",
    )
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "matrix", "speakers.csv", STAMP_NAME, "usb_mic"]
    assert len(list((tmp_path / "out" / "usb_mic" / "yes").glob("*.wav"))) == 4


def test_devices_differ_from_clean_and_from_each_other(corpus):
    keywords, out = corpus
    rel = "%s/0a1b2c3d_nohash_0.wav"
    clean = {w: load(keywords / (rel % w)) for w in WORDS}
    dev = {k: {w: load(out / f / (rel % w)) for w in WORDS} for k, f in FOLDERS.items()}

    # noise floor measured in the leading silence (clean: digital silence)
    floor = {k: rms_dbfs(v["yes"][: LEAD - 400]) for k, v in dev.items()}
    assert rms_dbfs(clean["yes"][: LEAD - 400]) < -200
    assert all(-75 < f < -20 for f in floor.values()), floor
    assert floor["U"] > floor["M"] + 8, floor  # cheap USB: hiss and hum
    # the USB hum: 50 Hz dominates the silent part
    lead = dev["U"]["yes"][:LEAD]
    assert band_fraction(lead, 45, 55) > 0.3

    # the codec device has (almost) nothing above 4 kHz; the others do
    assert band_fraction(clean["yes"], 4100, 8000) > 0.1
    assert band_fraction(dev["R"]["yes"], 4100, 8000) < 1e-4
    assert band_fraction(dev["M"]["yes"], 4100, 8000) > 0.05
    # USB: 3.4 kHz band (what is left up there is hiss and saturation harmonics)
    assert band_fraction(dev["U"]["yes"], 4100, 8000) < 0.3 * band_fraction(clean["yes"], 4100, 8000)

    # MEMS low cut and USB band: the 110 Hz fundamental is strongly attenuated
    low_clean = band_fraction(clean["no"], 80, 160)
    assert band_fraction(dev["M"]["no"], 80, 160) < 0.1 * low_clean
    assert band_fraction(dev["U"]["no"][LEAD:-LEAD], 80, 160) < 0.1 * low_clean

    # reverberation: the rooms of M and R fill the silence after the sound
    tail = slice(SR - LEAD + 400, SR - LEAD + 1600)
    assert rms_dbfs(dev["M"]["up"][tail]) > floor["M"] + 6
    assert rms_dbfs(dev["R"]["up"][tail]) > floor["R"] + 6

    # spectra differ pairwise: log band energies (8 bands) at least 3 dB apart (RMS)
    def bands(x):
        edges = [0, 250, 500, 1000, 2000, 3000, 4000, 6000, 8001]
        return np.array([10 * np.log10(band_fraction(x, a, b) + 1e-9)
                         for a, b in zip(edges[:-1], edges[1:])])

    for w in WORDS:
        prof = {"clean": bands(clean[w]), **{k: bands(v[w]) for k, v in dev.items()}}
        names = sorted(prof)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                dist = np.sqrt(np.mean((prof[a] - prof[b]) ** 2))
                assert dist > 3.0, (w, a, b, dist)
    cents = {k: centroid(v["up"]) for k, v in dev.items()}
    assert cents["R"] < cents["U"] < cents["M"], cents


def test_devices_keep_the_sound(corpus):
    """Still the same recording: the envelope follows the clean one."""
    keywords, out = corpus
    for w in WORDS:
        x = load(keywords / w / "9f8e7d6c_nohash_1.wav")
        env_x = np.sqrt(np.convolve(x ** 2, np.ones(800) / 800, "same"))[::400]
        for f in FOLDERS.values():
            y = load(out / f / w / "9f8e7d6c_nohash_1.wav")
            assert np.abs(y).max() <= 1.0
            env_y = np.sqrt(np.convolve(y ** 2, np.ones(800) / 800, "same"))[::400]
            assert np.corrcoef(env_x, env_y)[0, 1] > 0.7, (w, f)


# --------------------------------------------------------------------------
# Stages and devices
# --------------------------------------------------------------------------


def gain_db(stage, freq, n=SR, skip=SR // 4):
    x = tone(freq, n, amp=0.1)
    return rms_dbfs(stage(x)[skip:]) - rms_dbfs(x[skip:])


def test_bandpass_attenuates_outside_its_band():
    bp = BandPass(300, 3400, order=4)
    assert abs(gain_db(bp, 1000)) < 1.0
    assert gain_db(bp, 100) < -30
    assert gain_db(bp, 6500) < -30
    assert gain_db(BandPass(low_hz=250), 60) < -40
    assert abs(gain_db(BandPass(low_hz=250), 4000)) < 0.5
    assert gain_db(BandPass(high_hz=2000), 5000) < -30
    with pytest.raises(ValueError):
        BandPass()


def test_peaking_boosts_and_cuts_at_its_centre_only():
    assert abs(gain_db(Peaking(3000, 7.0, q=1.5), 3000) - 7.0) < 0.3
    assert abs(gain_db(Peaking(3000, 7.0, q=1.5), 200)) < 0.5
    assert abs(gain_db(Peaking(2500, -6.0, q=2.0), 2500) + 6.0) < 0.3


def test_noise_floor_hits_its_level():
    rng = np.random.default_rng(1)
    clean = clean_clip("yes", "0a1b2c3d", 0)
    for snr in (0.0, 10.0, 30.0):
        for color in ("white", "pink", "brown"):
            noisy = NoiseFloor(snr_db=snr, color=color)(clean, rng)
            assert abs(rms_dbfs(clean) - rms_dbfs(noisy - clean) - snr) < 1.0
    silent = np.zeros(SR)
    assert abs(rms_dbfs(NoiseFloor(dbfs=-50.0)(silent, rng)) + 50) < 0.1
    assert np.array_equal(NoiseFloor(snr_db=10.0)(silent, rng), silent)
    white = NoiseFloor(dbfs=-40.0)(silent, np.random.default_rng(2))
    pink = NoiseFloor(dbfs=-40.0, color="pink")(silent, np.random.default_rng(2))
    assert band_fraction(pink, 20, 500) > 5 * band_fraction(white, 20, 500)
    with pytest.raises(ValueError):
        NoiseFloor(dbfs=-40.0, snr_db=10.0)
    with pytest.raises(ValueError):
        NoiseFloor(dbfs=-40.0, color="blue")


def test_hum_level_and_frequency():
    hum = Hum(60.0, dbfs=-35.0)(np.zeros(SR), np.random.default_rng(0))
    assert abs(rms_dbfs(hum) + 35.0) < 0.2
    assert band_fraction(hum, 55, 65) > 0.5
    assert band_fraction(hum, 0, 250) > 0.999


def test_compressor_narrows_the_dynamic_range():
    comp = Compressor(threshold_db=-35.0, ratio=4.0, makeup_db=10.0)
    loud, quiet = tone(440, amp=0.5), tone(440, amp=0.005)
    spread_in = rms_dbfs(loud) - rms_dbfs(quiet)
    spread_out = rms_dbfs(comp(loud)[SR // 4:]) - rms_dbfs(comp(quiet)[SR // 4:])
    assert abs(spread_in - 40) < 0.1 and spread_out < 25
    # below the threshold only the make-up gain applies
    assert abs(rms_dbfs(comp(quiet)[SR // 4:]) - rms_dbfs(quiet) - 10.0) < 0.3


def test_clipping_bounds_the_peak():
    x = tone(300, amp=3.0)
    assert np.abs(Clip(0.5, "hard")(x)).max() <= 0.5
    assert np.abs(Clip(0.7, "soft")(x)).max() <= 0.7
    small = tone(300, amp=0.01)
    assert np.allclose(Clip(0.7, "soft")(small), small, atol=1e-5)
    assert np.array_equal(Clip(0.7, "hard")(small), small)
    with pytest.raises(ValueError):
        Clip(0.5, "medium")


def test_mulaw_codec_band_limits_and_keeps_the_band():
    codec = MuLawCodec(8000)
    noise = NoiseFloor(dbfs=-20.0)(np.zeros(SR), np.random.default_rng(0))
    assert band_fraction(codec(noise), 4100, 8000) < 1e-3
    assert band_fraction(noise, 4100, 8000) > 0.4
    x = tone(1000, amp=0.3)
    y = codec(x)
    assert abs(rms_dbfs(y) - rms_dbfs(x)) < 0.3
    assert rms_dbfs(x) - rms_dbfs(y - x) > 30  # 8-bit mu-law SNR ~ 38 dB
    codes = codec.encode(np.linspace(-1, 1, 101))
    assert codes.min() == -127 and codes.max() == 127
    assert np.allclose(codec.decode(codec.encode(np.array([-1.0, 0.0, 1.0]))), [-1, 0, 1])


def test_room_reverberates_with_about_its_rt60():
    room = Room((5.0, 4.0, 3.0), (1.0, 1.0, 1.5), (3.5, 2.5, 1.2), rt60=0.4)
    rir = room.rir
    assert room.prepare() is rir  # cached
    assert abs(np.abs(rir).max() - 1.0) < 1e-9 and np.argmax(np.abs(rir)) < 20
    edc = np.cumsum((rir ** 2)[::-1])[::-1]
    edc_db = 10 * np.log10(edc / edc[0])
    t5, t25 = np.argmax(edc_db < -5), np.argmax(edc_db < -25)
    rt60 = 3 * (t25 - t5) / SR
    assert 0.2 < rt60 < 0.65, rt60
    x = np.zeros(SR)
    x[100] = 1.0
    y = room(x)
    assert y.size == SR and rms_dbfs(y[100 + SR // 10: 100 + SR // 5]) > -70


@pytest.mark.parametrize("n", [0, 1, 37, 1601, SR])
def test_every_stage_and_device_keeps_the_length(n):
    x = 0.1 * np.random.default_rng(n).standard_normal(n)
    stages = [st for d in DEVICES.values() for st in d.stages] + [Gain(3.0)]
    for st in stages:
        assert st(x, np.random.default_rng(0)).shape == (n,), st
    for d in DEVICES.values():
        y = d(x, seed=1)
        assert y.shape == (n,) and (n == 0 or np.abs(y).max() <= 1.0)


def test_device_is_deterministic_and_resamples():
    x = clean_clip("up", "0a1b2c3d", 0)
    for d in DEVICES.values():
        assert np.array_equal(d(x, seed=5), d(x, seed=5))
        assert not np.array_equal(d(x, seed=5), d(x, seed=6))
    y = DEVICES["U"](x[::2], seed=0, sample_rate=8000)
    assert y.shape == (SR,)
    assert file_seed("up/a_nohash_0.wav", "M", 0) != file_seed("up/a_nohash_0.wav", "M", 1)
    assert 0 <= file_seed("x", "U") < 2 ** 63


def test_registry():
    assert sorted(DEVICES) == ["M", "R", "U"]
    assert {k: d.folder for k, d in DEVICES.items()} == FOLDERS
    assert mics.DEFAULT_FOLDERS == FOLDERS
    for k, d in DEVICES.items():
        assert isinstance(d, Device) and d.letter == k and d.description and d.stages
        assert [s for s in d.stages if not callable(s)] == []
    assert isinstance(DEVICES["R"].stages[-1], MuLawCodec)
