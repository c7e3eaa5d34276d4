"""Generates SYNTHETIC stand-ins for CREMA-D (source) and RAVDESS speech (target).

This is NOT real emotional speech. Every clip is a sentence spoken by the
eSpeak NG formant synthesiser (via ``espeakng-loader``) with *acted prosody*:
per-emotion presets of speaking rate, pitch, pitch range, loudness, spectral
tilt, SSML pitch contours, emphasis and pauses, plus a tremolo for fear and a
"pressed" saturation for anger and disgust. Such cues are a crude caricature
of how actors signal emotions; a classifier that learns them learns eSpeak's
acting, not human affect. The corpora exist to make the emotion recipes run
out of the box and to show the methods' behaviour under a real dataset shift
with mismatched label spaces, not to reproduce the real corpora's numbers.

The two corpora differ on purpose (the dataset shift):

===================  ====================================  ====================================
                     CREMA-D-like (source)                 RAVDESS-like (target)
===================  ====================================  ====================================
voices               eSpeak variants ``CREMA_*_VARIANTS``  disjoint ``RAVDESS_*_VARIANTS``
engine settings      faster (150-195 wpm), pitch 30-60,    slower (135-170 wpm), pitch 35-55,
                     range 35-60, level -38..-32 dBFS      range 40-55, level -36..-30 dBFS
text                 the 12 CREMA-D sentences              the 2 RAVDESS statements
acting               :data:`CREMA_PRESETS`                 :data:`RAVDESS_PRESETS` (more
                                                           exaggerated pitch, slower)
intensity            IEO: LO/MD/HI (0.5/1/1.5), else XX    normal 1.0 / strong 1.5
recording chain      :func:`crema_chain`: small noisy      :func:`ravdess_chain`: studio,
                     room, 100-7000 Hz, 60 Hz hum, pink    close mic, slight reverb, wide band,
                     + white noise (SNR ~25 dB)            -68 dBFS self-noise
silence around       0.05-0.25 s before, 0.1-0.3 s after   0.25-0.5 s before, 0.2-0.4 s after
file format          16 kHz mono 16-bit                    48 kHz mono 16-bit
===================  ====================================  ====================================

Both preset tables keep the same ordering of the emotions (anger loudest and
brightest, sadness slowest, quietest and lowest, fear highest and fastest,
...), so the shared classes mean the same thing in both corpora.

Layout (that of the real releases, read unchanged by ``data_prep/crema_d.py``,
``data_prep/ravdess.py`` and ``data_prep/emotion.py``)::

    <out>/CREMA-D/AudioWAV/<actor>_<sentence>_<EMO>_<level>.wav    e.g. 1001_DFA_ANG_XX.wav
    <out>/CREMA-D/VideoDemographics.csv                            ActorID,Age,Sex,Race,Ethnicity
    <out>/RAVDESS/Actor_XX/03-01-<emo>-<int>-<stmt>-<rep>-<actor>.wav
    <out>/synth_emotion.json                                       stamp: the arguments (last)

As in the real CREMA-D, only the sentence IEO is spoken at three levels
(``LO``/``MD``/``HI``; its neutral take is ``XX``), every other sentence once
per emotion at level ``XX``. CREMA-D actors are 1001.. (odd numbers male,
even female here; sex is in ``VideoDemographics.csv``); RAVDESS actors are
01.. (odd male, even female as in the real corpus), neutral has only the
normal intensity.

Every file depends only on the seed and its own name (the random numbers of
a clip are drawn from a generator seeded by its file name, those of an
actor by its number), never on the other files or the number of workers:
a corpus made with fewer actors, sentences or emotions is a subset of a
bigger one. The corpus is built in a temporary folder next to ``out`` and
renamed into place at the end; a second run with the same arguments returns
at once, and other arguments raise :class:`FileExistsError` (see
:mod:`data_prep.generated_corpus`).

Usage::

    python data_prep/synth_emotion.py --out DIR [--seed N] [--crema_actors N]
        [--ravdess_actors N] [--crema_sentences IEO DFA ...]
        [--crema_emotions ANG SAD ...] [--ravdess_emotions calm angry ...] [--workers N]

The defaults (48 CREMA-D-like and 64 RAVDESS-like actors: 7,776 clips in
about 2 min on one core) are the benchmark scale: a source-only model
reaches about 90 % on held-out CREMA-D-like actors (docs/data_scale/README.md).
Use e.g. ``--crema_actors 4 --ravdess_actors 4`` for a quick look.

Example
-------
>>> import tempfile, os
>>> d = tempfile.mkdtemp()
>>> out = generate_emotion(os.path.join(d, "emo"), crema_actors=1, ravdess_actors=1,
...                        crema_sentences=["DFA"], crema_emotions=["ANG", "SAD"],
...                        ravdess_emotions=["calm"], ravdess_repetitions=1, workers=1)
>>> sorted(p.name for p in (out / "CREMA-D" / "AudioWAV").iterdir())
['1001_DFA_ANG_XX.wav', '1001_DFA_SAD_XX.wav']
>>> sorted(p.name for p in (out / "RAVDESS" / "Actor_01").iterdir())
['03-01-02-01-01-01-01.wav', '03-01-02-01-02-01-01.wav', '03-01-02-02-01-01-01.wav', '03-01-02-02-02-01-01.wav']
"""

import argparse
import csv
import logging
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

try:
    import amls_speech  # noqa: F401
except ImportError:  # run as a file from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from scipy.fft import next_fast_len  # noqa: E402

from amls_speech.synth.espeak import EspeakSynth, voice_variant_genders  # noqa: E402
from amls_speech.synth.microphones import (  # noqa: E402
    SAMPLE_RATE,
    BandPass,
    Device,
    Hum,
    NoiseFloor,
    Peaking,
    Room,
    file_seed,
)
from amls_speech.synth.postprocess import resample, trim_silence  # noqa: E402
from data_prep.generated_corpus import build_corpus, run_jobs, write_wav  # noqa: E402
from data_prep.ravdess import RAVDESS_EMOTIONS  # noqa: E402

logger = logging.getLogger(__name__)

STAMP_NAME = "synth_emotion.json"
GENERATOR_VERSION = 1
LANGUAGE = "en-us"
CREMA_RATE = 16000
"""Sample rate of the CREMA-D-like files (that of the real corpus)."""
RAVDESS_RATE = 48000
"""Sample rate of the RAVDESS-like files (that of the real corpus)."""

# --------------------------------------------------------------------------
# Texts and codes of the real corpora

CREMA_SENTENCES = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}
"""The 12 CREMA-D sentences: code -> text."""

CREMA_LEVEL_SENTENCE = "IEO"
"""The one CREMA-D sentence spoken at the levels LO/MD/HI (neutral: XX)."""

CREMA_EMOTION_CODES = {
    "ANG": "angry",
    "DIS": "disgust",
    "FEA": "fearful",
    "HAP": "happy",
    "NEU": "neutral",
    "SAD": "sad",
}
"""CREMA-D emotion code -> preset name (the keys of the preset tables)."""

CREMA_LEVELS = {"LO": 0.5, "MD": 1.0, "HI": 1.5, "XX": 1.0}
"""CREMA-D level -> intensity factor of the emotion preset."""

RAVDESS_STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
"""RAVDESS statement code -> text."""

RAVDESS_EMOTION_CODES = RAVDESS_EMOTIONS
"""RAVDESS emotion code -> name (and preset name), as read by :mod:`data_prep.ravdess`."""

RAVDESS_INTENSITIES = {"01": 1.0, "02": 1.5}
"""RAVDESS intensity code (normal, strong) -> intensity factor."""

MAX_CREMA_ACTORS = 91  # 1001 .. 1091 as in the real corpus
MAX_RAVDESS_ACTORS = 99  # Actor_01 .. Actor_99: the naming's two digits (the release has 24)

# --------------------------------------------------------------------------
# Voices: disjoint eSpeak variant pools (no whispering, robotic or
# special-effect variants), interleaved so that both corpora get a mix.

CREMA_MALE_VARIANTS = "m1 m3 m5 m7 Andy Denis Henrique Lee antonio miguel travis".split()
CREMA_FEMALE_VARIANTS = "f1 f3 f5 Alicia Annie aunty grandma steph".split()
RAVDESS_MALE_VARIANTS = "m2 m4 m6 m8 AnxiousAndy Diogo Hugo Storm michel sandro victor".split()
RAVDESS_FEMALE_VARIANTS = "f2 f4 Andrea anika belinda linda steph2 steph3".split()


@dataclass(frozen=True)
class CorpusStyle:
    """Engine settings and recording habits of one synthetic corpus.

    Ranges are ``(low, high)`` of uniform draws: per actor (``pitch``,
    ``range``, ``rate``, ``level_db``, ``expressiveness``) or per clip
    (``lead_s``, ``tail_s``).

    Example
    -------
    >>> CREMA_STYLE.rate[0] > RAVDESS_STYLE.rate[0]
    True
    """

    name: str
    male_variants: tuple
    female_variants: tuple
    pitch: tuple  # eSpeak base pitch 0..100
    range: tuple  # eSpeak pitch range 0..100
    rate: tuple  # words per minute
    level_db: tuple  # active level (dBFS) of neutral speech before the chain (the room adds some)
    expressiveness: tuple  # multiplies the intensity of every emotion
    lead_s: tuple  # silence before the speech
    tail_s: tuple  # silence after the speech
    jitter_rate: float = 0.05  # per clip, relative
    jitter_pitch: int = 3  # per clip, eSpeak units
    jitter_range: int = 5
    jitter_level_db: float = 1.5


CREMA_STYLE = CorpusStyle(
    name="crema_d",
    male_variants=tuple(CREMA_MALE_VARIANTS),
    female_variants=tuple(CREMA_FEMALE_VARIANTS),
    pitch=(30, 60),
    range=(35, 60),
    rate=(150, 195),
    level_db=(-38.0, -32.0),
    expressiveness=(0.7, 1.2),
    lead_s=(0.05, 0.25),
    tail_s=(0.1, 0.3),
)
RAVDESS_STYLE = CorpusStyle(
    name="ravdess",
    male_variants=tuple(RAVDESS_MALE_VARIANTS),
    female_variants=tuple(RAVDESS_FEMALE_VARIANTS),
    pitch=(35, 55),
    range=(40, 55),
    rate=(135, 170),
    level_db=(-36.0, -30.0),
    expressiveness=(0.85, 1.2),
    lead_s=(0.25, 0.5),
    tail_s=(0.2, 0.4),
)

# --------------------------------------------------------------------------
# Emotion presets


@dataclass(frozen=True)
class Prosody:
    """An emotion preset: how eSpeak "acts" an emotion, relative to neutral.

    Fields
    ------
    rate : float
        Speaking-rate multiplier.
    pitch : float
        Added to the actor's eSpeak base pitch (0..100 scale).
    range : float
        Pitch-range multiplier.
    gain_db : float
        Vocal effort: level change in dB.
    tilt_db : float
        Brightness: a broad bell at 2.5 kHz (louder voices are brighter).
        Like ``harsh`` and ``tremolo`` it changes the timbre, not the level:
        the active speech level is restored after these effects.
    start_pitch, end_pitch : float
        SSML pitch change (%) of the first third of the words and of the
        last word (the contour: rising, falling).
    end_rate : float
        SSML rate (%) of the last word (below 100: drawn out).
    pause_prob, pause_ms : float
        Probability of a pause between two words, and its mean length.
    emphasis : int
        Number of words spoken with SSML ``<emphasis>``.
    tremolo : float
        Depth of a 5-8 Hz amplitude tremolo (a shaky voice).
    harsh : float
        Drive of a soft saturation (a pressed, harsh voice).
    punct : str
        Final punctuation, which sets eSpeak's clause intonation.

    Example
    -------
    >>> p = CREMA_PRESETS["angry"].scaled(0.5)
    >>> round(p.gain_db, 1), round(p.rate, 3)
    (3.5, 1.058)
    """

    rate: float = 1.0
    pitch: float = 0.0
    range: float = 1.0
    gain_db: float = 0.0
    tilt_db: float = 0.0
    start_pitch: float = 0.0
    end_pitch: float = 0.0
    end_rate: float = 100.0
    pause_prob: float = 0.0
    pause_ms: float = 0.0
    emphasis: int = 0
    tremolo: float = 0.0
    harsh: float = 0.0
    punct: str = "."

    def scaled(self, k):
        """The preset at intensity ``k``: 0 is neutral, 1 the preset itself.

        Additive fields are interpolated linearly, multiplicative ones (rate,
        range, end_rate) geometrically; ``emphasis`` is rounded; below
        ``k = 0.5`` the sentence ends with a plain full stop.
        """
        k = float(k)

        def geo(v):
            """``v ** k``: the geometric interpolation from 1 to ``v``."""
            return float(math.exp(k * math.log(v)))

        return replace(
            self,
            rate=geo(self.rate),
            pitch=k * self.pitch,
            range=geo(self.range),
            gain_db=k * self.gain_db,
            tilt_db=k * self.tilt_db,
            start_pitch=k * self.start_pitch,
            end_pitch=k * self.end_pitch,
            end_rate=100.0 * geo(self.end_rate / 100.0),
            pause_prob=min(1.0, k * self.pause_prob),
            pause_ms=self.pause_ms,
            emphasis=int(round(min(k, 1.5) * self.emphasis)),
            tremolo=min(0.6, k * self.tremolo),
            harsh=k * self.harsh,
            punct=self.punct if k >= 0.5 else ".",
        )


P = Prosody
CREMA_PRESETS = {
    "neutral": P(),
    "calm": P(rate=0.92, pitch=-5, range=0.75, gain_db=-2, tilt_db=-1.5, end_pitch=-4,
              end_rate=92, pause_prob=0.1, pause_ms=90),
    "happy": P(rate=1.08, pitch=18, range=1.45, gain_db=3, tilt_db=2, start_pitch=10,
               end_pitch=6, emphasis=1, punct="!"),
    "sad": P(rate=0.78, pitch=-12, range=0.55, gain_db=-6, tilt_db=-4, end_pitch=-12,
             end_rate=80, pause_prob=0.25, pause_ms=120),
    "angry": P(rate=1.12, pitch=10, range=1.25, gain_db=7, tilt_db=5, end_pitch=-5,
               emphasis=2, harsh=0.6, punct="!"),
    "fearful": P(rate=1.22, pitch=24, range=0.8, gain_db=1, tilt_db=1, start_pitch=5,
                 end_pitch=10, end_rate=112, pause_prob=0.3, pause_ms=80, tremolo=0.18),
    "disgust": P(rate=0.84, pitch=-8, range=1.3, gain_db=1, tilt_db=-1, end_pitch=-8,
                 end_rate=75, pause_prob=0.3, pause_ms=150, emphasis=1, harsh=0.2),
    "surprised": P(rate=1.04, pitch=20, range=1.6, gain_db=4, tilt_db=2, start_pitch=8,
                   end_pitch=25, end_rate=108, emphasis=1, punct="?"),
}
"""How the CREMA-D-like actors act (smaller pitch movements, brisk)."""

RAVDESS_PRESETS = {
    "neutral": P(),
    "calm": P(rate=0.9, pitch=-6, range=0.7, gain_db=-3, tilt_db=-2, end_pitch=-5,
              end_rate=90, pause_prob=0.1, pause_ms=100),
    "happy": P(rate=1.05, pitch=22, range=1.7, gain_db=4, tilt_db=2, start_pitch=15,
               end_pitch=10, emphasis=1, punct="!"),
    "sad": P(rate=0.75, pitch=-14, range=0.45, gain_db=-7, tilt_db=-5, end_pitch=-15,
             end_rate=75, pause_prob=0.3, pause_ms=130, tremolo=0.05),
    "angry": P(rate=1.08, pitch=14, range=1.4, gain_db=9, tilt_db=6, end_pitch=-8,
               emphasis=2, harsh=0.8, punct="!"),
    "fearful": P(rate=1.18, pitch=28, range=0.9, gain_db=2, tilt_db=1, start_pitch=8,
                 end_pitch=15, end_rate=120, pause_prob=0.25, pause_ms=100, tremolo=0.25,
                 punct="?"),
    "disgust": P(rate=0.8, pitch=-10, range=1.5, gain_db=2, tilt_db=-2, end_pitch=-10,
                 end_rate=70, pause_prob=0.3, pause_ms=150, emphasis=1, harsh=0.3),
    "surprised": P(rate=1.0, pitch=24, range=1.9, gain_db=5, tilt_db=3, start_pitch=10,
                   end_pitch=35, end_rate=110, emphasis=1, punct="?"),
}
"""How the RAVDESS-like actors act (more exaggerated pitch, slower)."""
del P

# --------------------------------------------------------------------------
# Recording chains (stages of amls_speech.synth.microphones, at 16 kHz)


def crema_chain():
    """CREMA-D-like recording: a small, noisy room and a band-limited mic.

    A 3 x 2.6 x 2.4 m room (RT60 0.3 s, talker 0.9 m away), 100-7000 Hz
    (2nd order), a +3 dB bump at 1.5 kHz and a -4 dB dip at 4.5 kHz, 60 Hz
    mains hum at -64 dBFS, pink noise at -55 dBFS and white at -62 dBFS
    (about 25 dB SNR for neutral speech, 15 dB for sad).

    Example
    -------
    >>> crema_chain().letter
    'C'
    """
    return Device(
        name="CREMA-D-like booth",
        letter="C",
        folder="AudioWAV",
        stages=[
            Room((3.0, 2.6, 2.4), source=(1.0, 1.3, 1.5), mic=(1.9, 1.1, 1.3), rt60=0.3),
            BandPass(100.0, 7000.0, order=2),
            Peaking(1500.0, 3.0, q=1.0),
            Peaking(4500.0, -4.0, q=2.0),
            Hum(60.0, dbfs=-64.0),
            NoiseFloor(dbfs=-55.0, color="pink"),
            NoiseFloor(dbfs=-62.0, color="white"),
        ],
        description="small room RT60 0.3 s, 100-7000 Hz, 60 Hz hum, pink+white noise",
    )


def ravdess_chain():
    """RAVDESS-like recording: a studio with a close condenser microphone.

    A 5.5 x 4.5 x 3 m treated room (RT60 0.2 s, talker 0.5 m away: slight
    reverb), a gentle 40 Hz high-pass, a +2 dB presence lift at 5 kHz and
    white self-noise at -68 dBFS. The 16 kHz result is resampled to 48 kHz
    and -84 dBFS of white noise is added over the full band.

    Example
    -------
    >>> [type(s).__name__ for s in ravdess_chain().stages]
    ['Room', 'BandPass', 'Peaking', 'NoiseFloor']
    """
    return Device(
        name="RAVDESS-like studio",
        letter="R",
        folder="",
        stages=[
            Room((5.5, 4.5, 3.0), source=(2.0, 2.2, 1.6), mic=(2.5, 2.3, 1.6), rt60=0.2),
            BandPass(40.0, None, order=2),
            Peaking(5000.0, 2.0, q=1.0),
            NoiseFloor(dbfs=-68.0, color="white"),
        ],
        description="studio RT60 0.2 s at 0.5 m, wide band, -68 dBFS self-noise",
    )


_CHAINS = {}


def _chain(corpus):
    if corpus not in _CHAINS:
        _CHAINS[corpus] = (crema_chain() if corpus == "crema_d" else ravdess_chain()).prepare()
    return _CHAINS[corpus]


# --------------------------------------------------------------------------
# Actors


def make_crema_actors(seed, n):
    """The CREMA-D-like actors 1001 .. 1000+n: sex, demographics, voice, settings.

    Actor ``i`` depends only on ``seed`` and ``i``.

    Example
    -------
    >>> a = make_crema_actors(0, 3)
    >>> [(x["actor"], x["sex"]) for x in a]
    [('1001', 'Male'), ('1002', 'Female'), ('1003', 'Male')]
    >>> a[0]["voice"].split("+")[1] in CREMA_MALE_VARIANTS, a == make_crema_actors(0, 3)
    (True, True)
    """
    actors = []
    for i in range(n):
        rng = np.random.default_rng([seed, 11, i])
        sex = "Male" if i % 2 == 0 else "Female"
        actor = _actor_settings(CREMA_STYLE, sex.lower(), i // 2, seed, 11, rng)
        actor.update(
            actor="%d" % (1001 + i),
            sex=sex,
            age=int(rng.integers(20, 75)),
            race=str(rng.choice(["Caucasian", "African American", "Asian", "Unknown"],
                                p=[0.6, 0.25, 0.1, 0.05])),
            ethnicity=str(rng.choice(["Not Hispanic", "Hispanic"], p=[0.85, 0.15])),
        )
        actors.append(actor)
    return actors


def make_ravdess_actors(seed, n):
    """The RAVDESS-like actors 01 .. n (odd male, even female), voice and settings.

    Example
    -------
    >>> a = make_ravdess_actors(0, 2)
    >>> [(x["actor"], x["sex"]) for x in a]
    [('01', 'male'), ('02', 'female')]
    >>> a[1]["voice"].split("+")[1] in RAVDESS_FEMALE_VARIANTS
    True
    """
    actors = []
    for i in range(n):
        rng = np.random.default_rng([seed, 12, i])
        sex = "male" if i % 2 == 0 else "female"
        actor = _actor_settings(RAVDESS_STYLE, sex, i // 2, seed, 12, rng)
        actor.update(actor="%02d" % (i + 1), sex=sex)
        actors.append(actor)
    return actors


def _actor_settings(style, sex, index, seed, corpus_code, rng):
    available = _variant_genders()
    pool = style.male_variants if sex == "male" else style.female_variants
    pool = [v for v in pool if available.get(v) == sex]
    if not pool:
        raise RuntimeError("no %s eSpeak voice variants found for %s" % (sex, style.name))
    order = np.random.default_rng([seed, corpus_code, 1000 + (sex == "female")]).permutation(len(pool))
    return {
        "voice": "%s+%s" % (LANGUAGE, pool[order[index % len(pool)]]),
        "pitch": int(rng.integers(style.pitch[0], style.pitch[1] + 1)),
        "range": int(rng.integers(style.range[0], style.range[1] + 1)),
        "rate": int(rng.integers(style.rate[0], style.rate[1] + 1)),
        "level_db": round(float(rng.uniform(*style.level_db)), 2),
        "expressiveness": round(float(rng.uniform(*style.expressiveness)), 3),
    }


@lru_cache(maxsize=1)
def _variant_genders():
    return voice_variant_genders()


# --------------------------------------------------------------------------
# Rendering


def build_ssml(text, prosody, rng):
    """The SSML document that makes eSpeak act ``text`` with ``prosody``.

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> build_ssml("Don't forget a jacket", CREMA_PRESETS["neutral"], rng)
    "<speak>Don't forget a jacket.</speak>"
    >>> print(build_ssml("Don't forget a jacket", RAVDESS_PRESETS["surprised"], rng))
    <speak><prosody pitch="+10%">Don't</prosody> forget a <prosody pitch="+35%" rate="110%"><emphasis>jacket</emphasis></prosody>?</speak>
    """
    words = [escape(w) for w in text.split()]
    n = len(words)
    if prosody.emphasis > 0:
        for i in rng.choice(n, size=min(prosody.emphasis, n), replace=False):
            words[i] = "<emphasis>%s</emphasis>" % words[i]
    if n > 1 and (abs(prosody.end_pitch) >= 1 or abs(prosody.end_rate - 100) >= 1):
        words[-1] = '<prosody pitch="%+d%%" rate="%d%%">%s</prosody>' % (
            round(prosody.end_pitch), round(prosody.end_rate), words[-1])
    head = max(1, n // 3)
    if n > 2 and abs(prosody.start_pitch) >= 1:
        words[:head] = ['<prosody pitch="%+d%%">%s</prosody>'
                        % (round(prosody.start_pitch), " ".join(words[:head]))]
    parts = [words[0]]
    for w in words[1:]:
        if prosody.pause_prob > 0 and rng.random() < prosody.pause_prob:
            parts.append('<break time="%dms"/>' % round(prosody.pause_ms * rng.uniform(0.6, 1.4)))
        parts.append(w)
    return "<speak>%s%s</speak>" % (" ".join(parts), prosody.punct)


def active_level_db(wav, sample_rate=SAMPLE_RATE, floor_db=30.0):
    """RMS level (dBFS) of the active part of speech: 10 ms frames within ``floor_db`` of the loudest.

    Example
    -------
    >>> x = np.concatenate([np.zeros(8000), 0.1 * np.ones(8000)])
    >>> round(active_level_db(x), 1)
    -20.0
    """
    wav = np.asarray(wav, dtype=np.float64)
    hop = max(1, int(0.01 * sample_rate))
    n = wav.size // hop
    if n == 0:
        return float(10 * np.log10(np.mean(wav ** 2) + 1e-24)) if wav.size else -240.0
    energy = np.mean(wav[: n * hop].reshape(n, hop) ** 2, axis=1)
    top = energy.max()
    if top <= 0:
        return -240.0
    active = energy[energy >= top * 10 ** (-floor_db / 10)]
    return float(10 * np.log10(active.mean()))


def act(wav, prosody, rng, sample_rate=SAMPLE_RATE):
    """Voice-quality effects of a preset on 16 kHz speech (tilt, saturation, tremolo).

    Example
    -------
    >>> x = 0.3 * np.sin(np.arange(16000) / 5.0)
    >>> y = act(x, CREMA_PRESETS["fearful"], np.random.default_rng(0))
    >>> y.shape == x.shape and float(y.std()) != float(x.std())
    True
    """
    wav = np.asarray(wav, dtype=np.float64)
    if abs(prosody.tilt_db) > 0.05:
        wav = Peaking(2500.0, prosody.tilt_db, q=0.6)(wav)
    if prosody.harsh > 0.01:
        peak = np.abs(wav).max()
        if peak > 0:
            drive = 1.0 + 3.0 * prosody.harsh
            wav = np.tanh(drive * wav / peak) / np.tanh(drive) * peak
    if prosody.tremolo > 0.005:
        t = np.arange(wav.size) / sample_rate
        freq = rng.uniform(5.0, 8.0)
        wav = wav * (1.0 + prosody.tremolo * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi)))
    return wav


def render_clip(tts, corpus, actor, text, emotion, intensity, name, seed):
    """One clip: ``text`` acted by ``actor`` with ``emotion`` at ``intensity``.

    Arguments
    ---------
    tts : EspeakSynth
        The synthesiser.
    corpus : str
        ``"crema_d"`` or ``"ravdess"`` (style, presets, chain, sample rate).
    actor : dict
        An item of :func:`make_crema_actors` / :func:`make_ravdess_actors`.
    text : str
        The sentence.
    emotion : str
        A key of the preset tables (``"angry"``, ...).
    intensity : float
        Intensity factor of the preset (before the actor's expressiveness).
    name : str
        File name: seeds the clip's random numbers.
    seed : int
        Corpus seed.

    Returns
    -------
    numpy.ndarray
        float32 samples at 16 kHz (CREMA-D) or 48 kHz (RAVDESS), in [-1, 1].

    Example
    -------
    >>> tts = EspeakSynth()
    >>> actor = make_ravdess_actors(0, 1)[0]
    >>> y = render_clip(tts, "ravdess", actor, RAVDESS_STATEMENTS["01"], "angry", 1.0,
    ...                 "03-01-05-01-01-01-01.wav", 0)
    >>> y.dtype, 1.5 < len(y) / RAVDESS_RATE < 4.5, bool(np.abs(y).max() <= 1)
    (dtype('float32'), True, True)
    """
    if corpus == "crema_d":
        style, presets, out_rate, letter = CREMA_STYLE, CREMA_PRESETS, CREMA_RATE, "C"
    elif corpus == "ravdess":
        style, presets, out_rate, letter = RAVDESS_STYLE, RAVDESS_PRESETS, RAVDESS_RATE, "R"
    else:
        raise ValueError("unknown corpus %r" % corpus)
    rng = np.random.default_rng(file_seed(name, letter + "-clip", seed))
    prosody = presets[emotion].scaled(intensity * actor["expressiveness"])
    rate = actor["rate"] * prosody.rate * (1 + rng.uniform(-style.jitter_rate, style.jitter_rate))
    pitch = actor["pitch"] + prosody.pitch + rng.integers(-style.jitter_pitch, style.jitter_pitch + 1)
    prange = actor["range"] * prosody.range + rng.integers(-style.jitter_range, style.jitter_range + 1)
    ssml = build_ssml(text, prosody, rng)
    espeak_seed = int(rng.integers(0, 2**31 - 1))
    wav = tts.synth(ssml, voice=actor["voice"], rate=int(np.clip(round(rate), 80, 450)),
                    pitch=int(np.clip(round(pitch), 0, 100)), range=int(np.clip(round(prange), 0, 100)),
                    ssml=True, seed=espeak_seed)
    if not np.any(wav):
        raise RuntimeError("eSpeak produced silence for %r with %s" % (text, actor["voice"]))
    wav = resample(trim_silence(wav, tts.sample_rate, margin=0.02), tts.sample_rate, SAMPLE_RATE)
    wav = wav * 10 ** (-active_level_db(wav) / 20)  # active level 0 dB
    wav = act(wav, prosody, rng)
    wav = wav * 10 ** (-active_level_db(wav) / 20)  # loudness is set by gain_db alone
    level_db = (actor["level_db"] + prosody.gain_db
                + rng.uniform(-style.jitter_level_db, style.jitter_level_db))
    wav = wav * 10 ** (level_db / 20)
    lead = int(rng.uniform(*style.lead_s) * SAMPLE_RATE)
    tail = int(rng.uniform(*style.tail_s) * SAMPLE_RATE)
    tail += next_fast_len(lead + wav.size + tail, real=True) - (lead + wav.size + tail)  # fast FFTs
    wav = np.concatenate([np.zeros(lead), wav, np.zeros(tail)])
    out = _chain(corpus)(wav, seed=file_seed(name, letter, seed))
    if out_rate != SAMPLE_RATE:
        out = resample(out, SAMPLE_RATE, out_rate)
        out = out + rng.standard_normal(out.size) * 10 ** (-84 / 20)
    return np.clip(out, -1.0, 32767 / 32768).astype(np.float32)


def _render_job(job):
    """Render one file and write it (runs in a worker)."""
    tmp, rel, corpus, actor, text, emotion, intensity, seed = job
    tts = EspeakSynth(reset=True)
    wav = render_clip(tts, corpus, actor, text, emotion, intensity, os.path.basename(rel), seed)
    write_wav(Path(tmp) / rel, wav, CREMA_RATE if corpus == "crema_d" else RAVDESS_RATE)
    return rel


# --------------------------------------------------------------------------
# The corpus


def _normalise_codes(values, known, what, upper):
    if values is None:
        return list(known)
    if isinstance(values, str):
        values = [v for v in values.replace(",", " ").split() if v]
    out = []
    for v in values:
        key = str(v).strip()
        key = key.upper() if upper else key.lower()
        if key not in known:
            raise ValueError("unknown %s %r: expected one of %s" % (what, v, list(known)))
        if key not in out:
            out.append(key)
    if not out:
        raise ValueError("no %s selected" % what)
    return [k for k in known if k in out]  # canonical order


def _ravdess_codes(values):
    if values is None:
        return list(RAVDESS_EMOTION_CODES)
    by_name = {v: k for k, v in RAVDESS_EMOTION_CODES.items()}
    if isinstance(values, str):
        values = [v for v in values.replace(",", " ").split() if v]
    out = set()
    for v in values:
        key = str(v).strip().lower()
        key = by_name.get(key, key)
        if key.isdigit():
            key = "%02d" % int(key)
        if key not in RAVDESS_EMOTION_CODES:
            raise ValueError("unknown RAVDESS emotion %r: expected one of %s or 01..08"
                             % (v, list(by_name)))
        out.add(key)
    if not out:
        raise ValueError("no RAVDESS emotion selected")
    return sorted(out)


def crema_files(actors, sentences, emotions):
    """``(file name, actor, sentence, emotion code, level)`` of the CREMA-D-like corpus.

    Example
    -------
    >>> [f[0] for f in crema_files(["1001"], ["IEO"], ["ANG", "NEU"])]
    ['1001_IEO_ANG_LO.wav', '1001_IEO_ANG_MD.wav', '1001_IEO_ANG_HI.wav', '1001_IEO_NEU_XX.wav']
    """
    files = []
    for actor in actors:
        for sentence in sentences:
            for emo in emotions:
                levels = ("LO", "MD", "HI") if sentence == CREMA_LEVEL_SENTENCE and emo != "NEU" else ("XX",)
                for level in levels:
                    name = "%s_%s_%s_%s.wav" % (actor, sentence, emo, level)
                    files.append((name, actor, sentence, emo, level))
    return files


def ravdess_files(actors, emotions, repetitions=2):
    """``(relative path, actor, emotion code, intensity, statement, repetition)``.

    Neutral has only the normal intensity, as in the real corpus.

    Example
    -------
    >>> [f[0] for f in ravdess_files(["01"], ["01"], 1)]
    ['Actor_01/03-01-01-01-01-01-01.wav', 'Actor_01/03-01-01-01-02-01-01.wav']
    >>> len(ravdess_files(["01"], list(RAVDESS_EMOTION_CODES)))
    60
    """
    files = []
    for actor in actors:
        for emo in emotions:
            for intensity in (("01",) if emo == "01" else ("01", "02")):
                for stmt in RAVDESS_STATEMENTS:
                    for rep in range(1, repetitions + 1):
                        rel = "Actor_%s/03-01-%s-%s-%s-%02d-%s.wav" % (actor, emo, intensity, stmt, rep, actor)
                        files.append((rel, actor, emo, intensity, stmt, "%02d" % rep))
    return files


def _arguments(seed, crema_actors, ravdess_actors, crema_sentences, crema_emotions,
               ravdess_emotions, ravdess_repetitions):
    return {
        "generator": "amls_speech data_prep/synth_emotion.py",
        "version": GENERATOR_VERSION,
        "seed": int(seed),
        "crema_actors": int(crema_actors),
        "ravdess_actors": int(ravdess_actors),
        "crema_sentences": list(crema_sentences),
        "crema_emotions": list(crema_emotions),
        "ravdess_emotions": list(ravdess_emotions),
        "ravdess_repetitions": int(ravdess_repetitions),
    }


# Benchmark-scale defaults (measurements: docs/data_scale/README.md): 48
# CREMA-D-like actors (3,936 clips; a source-only model reaches 88-91 %
# source-validation accuracy on 5 held-out actors, as with all 91 actors, at
# half the cost per epoch) and 64 RAVDESS-like actors, more than the real
# release's 24, so that the 80/20 actor split of data_prep/emotion.py leaves
# 13 target test actors (520 clips of the 5 target classes; with 24 actors it
# would be 5 actors, 200 clips, where one clip moves a class by 2.5 points).
DEFAULT_CREMA_ACTORS = 48
DEFAULT_RAVDESS_ACTORS = 64


def generate_emotion(out, seed=0, crema_actors=DEFAULT_CREMA_ACTORS,
                     ravdess_actors=DEFAULT_RAVDESS_ACTORS, crema_sentences=None,
                     crema_emotions=None, ravdess_emotions=None, ravdess_repetitions=2, workers=2):
    """Generates the synthetic CREMA-D-like and RAVDESS-like corpora into ``out``.

    Arguments
    ---------
    out : str or Path
        Folder to create (must not exist, be empty, or hold a corpus made
        with the same arguments); gets ``CREMA-D/`` and ``RAVDESS/``.
    seed : int
        Random seed; the same arguments give byte-identical files.
    crema_actors : int
        Number of CREMA-D-like actors (1001 .., at most 91; default 48, the
        benchmark scale, see :data:`DEFAULT_CREMA_ACTORS`).
    ravdess_actors : int
        Number of RAVDESS-like actors (01 .., at most 99; default 64, more
        than the real release's 24: see :data:`DEFAULT_RAVDESS_ACTORS`).
    crema_sentences : list of str, optional
        Sentence codes (default: all 12, see :data:`CREMA_SENTENCES`).
    crema_emotions : list of str, optional
        CREMA-D emotion codes (default: ANG DIS FEA HAP NEU SAD).
    ravdess_emotions : list of str, optional
        RAVDESS emotions, names (``calm``) or codes (``02``); default all 8.
    ravdess_repetitions : int
        Repetitions per RAVDESS statement (1 or 2).
    workers : int
        Worker processes (the output does not depend on it).

    Returns
    -------
    Path
        ``out``.

    Example
    -------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> kw = dict(crema_actors=2, ravdess_actors=1, crema_sentences=["TSI"],
    ...           crema_emotions=["NEU"], ravdess_emotions=["neutral"], workers=1)
    >>> out = generate_emotion(os.path.join(d, "emo"), **kw)
    >>> print((out / "CREMA-D" / "VideoDemographics.csv").read_text().splitlines()[0])
    ActorID,Age,Sex,Race,Ethnicity
    >>> generate_emotion(out, **kw) == out  # already there: nothing to do
    True
    """
    out = Path(out).resolve()
    if not 1 <= int(crema_actors) <= MAX_CREMA_ACTORS:
        raise ValueError("crema_actors must be in 1..%d, got %r" % (MAX_CREMA_ACTORS, crema_actors))
    if not 1 <= int(ravdess_actors) <= MAX_RAVDESS_ACTORS:
        raise ValueError("ravdess_actors must be in 1..%d, got %r" % (MAX_RAVDESS_ACTORS, ravdess_actors))
    if int(ravdess_repetitions) not in (1, 2):
        raise ValueError("ravdess_repetitions must be 1 or 2, got %r" % (ravdess_repetitions,))
    sentences = _normalise_codes(crema_sentences, list(CREMA_SENTENCES), "CREMA-D sentence", True)
    c_emotions = _normalise_codes(crema_emotions, list(CREMA_EMOTION_CODES), "CREMA-D emotion", True)
    r_emotions = _ravdess_codes(ravdess_emotions)
    arguments = _arguments(seed, crema_actors, ravdess_actors, sentences, c_emotions, r_emotions,
                           ravdess_repetitions)

    def fill(tmp):
        """Render every clip and write ``VideoDemographics.csv`` into ``tmp``; return the stamp."""
        c_actors = make_crema_actors(seed, int(crema_actors))
        r_actors = make_ravdess_actors(seed, int(ravdess_actors))
        c_by_id = {a["actor"]: a for a in c_actors}
        r_by_id = {a["actor"]: a for a in r_actors}
        (tmp / "CREMA-D" / "AudioWAV").mkdir(parents=True)
        jobs = []
        for name, actor, sentence, emo, level in crema_files(list(c_by_id), sentences, c_emotions):
            jobs.append((str(tmp), "CREMA-D/AudioWAV/" + name, "crema_d", c_by_id[actor],
                         CREMA_SENTENCES[sentence], CREMA_EMOTION_CODES[emo], CREMA_LEVELS[level],
                         int(seed)))
        for actor in r_by_id:
            (tmp / "RAVDESS" / ("Actor_" + actor)).mkdir(parents=True)
        for rel, actor, emo, inten, stmt, rep in ravdess_files(list(r_by_id), r_emotions,
                                                               int(ravdess_repetitions)):
            jobs.append((str(tmp), "RAVDESS/" + rel, "ravdess", r_by_id[actor],
                         RAVDESS_STATEMENTS[stmt], RAVDESS_EMOTION_CODES[emo],
                         RAVDESS_INTENSITIES[inten], int(seed)))

        # Before forking: room responses computed once, eSpeak loaded once
        # (the workers reuse the parent's private copy of the library).
        _chain("crema_d")
        _chain("ravdess")
        EspeakSynth()
        run_jobs(_render_job, jobs, workers, chunksize=8)

        with open(tmp / "CREMA-D" / "VideoDemographics.csv", "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["ActorID", "Age", "Sex", "Race", "Ethnicity"])
            for a in c_actors:
                writer.writerow([a["actor"], a["age"], a["sex"], a["race"], a["ethnicity"]])
        for folder in tmp.rglob("*"):
            if folder.is_dir():
                os.chmod(folder, 0o755)  # whatever the umask
        return {
            "arguments": arguments,
            "note": "SYNTHETIC data: eSpeak NG text-to-speech with acted prosody presets, "
                    "not real emotional speech",
            "crema_actors": c_actors,
            "ravdess_actors": r_actors,
            "crema_presets": {k: asdict(v) for k, v in CREMA_PRESETS.items()},
            "ravdess_presets": {k: asdict(v) for k, v in RAVDESS_PRESETS.items()},
            "chains": {c: {"description": _chain(c).description,
                           "stages": [repr(s) for s in _chain(c).stages]}
                       for c in ("crema_d", "ravdess")},
            "files": {"crema_d": sum(j[2] == "crema_d" for j in jobs),
                      "ravdess": sum(j[2] == "ravdess" for j in jobs)},
        }

    start = time.time()
    stamp = build_corpus(out, arguments, STAMP_NAME, "synthetic emotion corpus", fill)
    if stamp is not None:
        logger.info(
            "wrote %d CREMA-D-like and %d RAVDESS-like synthetic clips to %s in %.1f s",
            stamp["files"]["crema_d"], stamp["files"]["ravdess"], out, time.time() - start,
        )
    return out


def main(argv=None):
    """Command line entry point (see the module docstring).

    Example
    -------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> main(["--out", os.path.join(d, "emo"), "--crema_actors", "1", "--ravdess_actors", "1",
    ...       "--crema_sentences", "TSI", "--crema_emotions", "SAD",
    ...       "--ravdess_emotions", "sad", "--ravdess_repetitions", "1", "--workers", "1"])
    0
    """
    parser = argparse.ArgumentParser(
        description="Generate SYNTHETIC (eSpeak NG text-to-speech with acted prosody, not real "
        "emotional speech) stand-ins for CREMA-D and RAVDESS speech, in their layouts."
    )
    parser.add_argument("--out", required=True, help="folder to create (CREMA-D/ and RAVDESS/ inside)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--crema_actors", type=int, default=DEFAULT_CREMA_ACTORS,
                        help="CREMA-D-like actors, at most %d (default %%(default)s)" % MAX_CREMA_ACTORS)
    parser.add_argument("--ravdess_actors", type=int, default=DEFAULT_RAVDESS_ACTORS,
                        help="RAVDESS-like actors, at most %d (default %%(default)s)"
                        % MAX_RAVDESS_ACTORS)
    parser.add_argument("--crema_sentences", nargs="+", default=None, help="codes, e.g. IEO DFA")
    parser.add_argument("--crema_emotions", nargs="+", default=None, help="codes, e.g. ANG SAD")
    parser.add_argument("--ravdess_emotions", nargs="+", default=None, help="names or codes")
    parser.add_argument("--ravdess_repetitions", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    generate_emotion(args.out, seed=args.seed, crema_actors=args.crema_actors,
                     ravdess_actors=args.ravdess_actors, crema_sentences=args.crema_sentences,
                     crema_emotions=args.crema_emotions, ravdess_emotions=args.ravdess_emotions,
                     ravdess_repetitions=args.ravdess_repetitions, workers=args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
