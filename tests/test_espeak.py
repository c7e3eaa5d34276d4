"""Tests of the eSpeak NG ctypes wrapper (amls_speech.synth.espeak)."""

import numpy as np
import pytest

from amls_speech.synth import espeak
from amls_speech.synth.espeak import (
    EspeakError,
    EspeakSynth,
    list_voice_variants,
    voice_variant_genders,
)
from helpers import median_f0


@pytest.fixture(scope="module")
def tts():
    return EspeakSynth()


def test_word_is_plausible(tts):
    assert tts.sample_rate == 22050
    wav = tts.synth("marvin", voice="en-us+m3")
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert 0.2 < len(wav) / tts.sample_rate < 1.5
    assert 0.05 < np.abs(wav).max() <= 1.0
    assert np.sqrt(np.mean(wav ** 2)) > 0.01


def test_equal_arguments_give_equal_samples(tts):
    a = tts.synth("sheila", voice="en-us+f3", rate=160, pitch=40, range=70, seed=3)
    tts.synth("backward", voice="en-us+m7", rate=300)  # changes eSpeak's internal state
    b = tts.synth("sheila", voice="en-us+f3", rate=160, pitch=40, range=70, seed=3)
    assert np.array_equal(a, b)


def test_reload_without_reset():
    fast = EspeakSynth(reset=False)
    fast.reload()
    a = [fast.synth(w, voice="en-us+m2") for w in ("one", "two")]
    fast.reload()
    b = [fast.synth(w, voice="en-us+m2") for w in ("one", "two")]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_voices_differ(tts):
    male = tts.synth("seven", voice="en-us+m3")
    female = tts.synth("seven", voice="en-us+f2")
    assert len(male) != len(female) or not np.array_equal(male, female)
    f0_m, f0_f = median_f0(male, tts.sample_rate), median_f0(female, tts.sample_rate)
    assert 70 < f0_m < 150 and 150 < f0_f < 300 and f0_f > 1.4 * f0_m


def test_parameters_change_the_audio(tts):
    low = tts.synth("zero", voice="en-us+m1", pitch=10)
    high = tts.synth("zero", voice="en-us+m1", pitch=90)
    assert median_f0(high, tts.sample_rate) > 1.3 * median_f0(low, tts.sample_rate)
    slow = tts.synth("zero", voice="en-us+m1", rate=100)
    fast = tts.synth("zero", voice="en-us+m1", rate=300)
    assert len(slow) > 1.5 * len(fast)


def test_ssml_prosody(tts):
    plain = tts.synth("<speak>happy</speak>", voice="en-us+m3", ssml=True)
    slow = tts.synth('<speak><prosody rate="50%">happy</prosody></speak>', voice="en-us+m3", ssml=True)
    high = tts.synth('<speak><prosody pitch="+60%">happy</prosody></speak>', voice="en-us+m3", ssml=True)
    assert len(slow) > 1.4 * len(plain)
    sr = tts.sample_rate
    assert median_f0(high, sr) > 1.25 * median_f0(plain, sr)
    # Without the SSML flag the markup is not interpreted: it is read out.
    as_text = tts.synth('<speak><prosody rate="50%">happy</prosody></speak>', voice="en-us+m3")
    assert len(as_text) > 2 * len(slow)


def test_seed_changes_breath_noise(tts):
    a = tts.synth("yes", voice="en-us+f2", seed=0)
    b = tts.synth("yes", voice="en-us+f2", seed=1)
    assert len(a) == len(b) and not np.array_equal(a, b)
    assert np.abs(a - b).max() < 0.5 * np.abs(a).max()  # the same word all the same


def test_unknown_voice_is_an_error(tts):
    with pytest.raises(EspeakError, match="unknown eSpeak voice"):
        tts.synth("yes", voice="xx-no-such-language")
    # eSpeak itself silently falls back to the plain voice for a bad variant.
    with pytest.raises(EspeakError, match="unknown eSpeak voice variant"):
        tts.synth("yes", voice="en-us+no_such_variant_xyz")
    assert len(tts.synth("yes", voice="en-us+m1")) > 0  # still usable afterwards


def test_text_must_be_str(tts):
    with pytest.raises(TypeError):
        tts.synth(b"yes")


def test_voice_variants():
    genders = voice_variant_genders()
    male, female = set(list_voice_variants("male")), set(list_voice_variants("female"))
    assert {"m%d" % i for i in range(1, 9)} <= male
    assert {"f%d" % i for i in range(1, 6)} <= female
    assert not male & female
    assert set(list_voice_variants()) == set(genders) and len(genders) > 50
    with pytest.raises(ValueError):
        list_voice_variants("other")


def test_missing_library_is_a_clear_error(tmp_path):
    data = espeak._default_paths()[1]
    with pytest.raises(EspeakError, match="cannot load libespeak-ng"):
        espeak._Engine(str(tmp_path / "libespeak-ng.so"), data)
    with pytest.raises(EspeakError, match="data folder"):
        espeak._Engine(None, str(tmp_path / "no-data"))
