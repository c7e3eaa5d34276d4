"""Generates a SYNTHETIC stand-in for Google Speech Commands v0.02.

The data made here is not recorded speech: every word is spoken by the eSpeak
NG text-to-speech engine (formant synthesis, via ``espeakng-loader``). Each
"speaker" is an eSpeak voice variant (``en-us+m3``, ``en-us+f2``,
``en-us+Annie``, ...) of declared gender with its own pitch, pitch range and
speaking rate drawn from a seeded generator; each take jitters these a little,
is resampled to 16 kHz, placed at a random offset in a 1 s clip, mixed with
light background noise at a random SNR and peak-normalised to a random level.
The corpus exists to make the keyword recipes run out of the box and to show
the male/female domain shift; it does not reproduce the real corpus' numbers.

Layout (that of the real v0.02 release)::

    <out>/<word>/<speaker>_nohash_<n>.wav     16 kHz mono 16-bit PCM, 1 s
    <out>/_background_noise_/*.wav            10 s noise files
    <out>/validation_list.txt                 official SHA1 ``which_set`` rule
    <out>/testing_list.txt                    (10 % / 10 % of the speakers)
    <out>/speakers.csv                        ``speaker,gender`` (male/female)
    <out>/synth_keywords.json                 stamp: the arguments (written last)

The corpus is built in a temporary folder next to ``out`` and renamed into
place at the end, so an interrupted run never leaves a corpus that looks
complete. A second run with the same arguments returns at once (see
:mod:`data_prep.generated_corpus`).

Usage::

    python data_prep/synth_keywords.py --out DIR [--seed N]
        [--speakers_per_gender N] [--takes N] [--words yes no ...]

The defaults (60 speakers per gender, 8 takes: 33,600 clips in 1.5-2.5 min
on one core) are the benchmark scale: a source-only model reaches 96-97 %
accuracy on the source gender's held-out speakers and the target test sets
hold at least 2,000 clips (docs/data_scale/README.md). Use e.g.
``--speakers_per_gender 4 --takes 1`` for a quick look.

Example
-------
>>> import tempfile, os
>>> d = tempfile.mkdtemp()
>>> out = generate_keywords(os.path.join(d, "kw"), words=["yes", "no"],
...                         speakers_per_gender=1, takes=1)
>>> sorted(p.name for p in out.iterdir() if p.is_dir())
['_background_noise_', 'no', 'yes']
>>> len(list((out / "yes").glob("*_nohash_0.wav")))
2
>>> import shutil; shutil.rmtree(d)
"""

import argparse
import csv
import hashlib
import logging
import os
import re
import sys
import time
from pathlib import Path

try:
    import amls_speech  # noqa: F401
except ImportError:  # run as a file from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from scipy.signal import lfilter

from amls_speech.partitions import SPEECH_COMMANDS_WORDS
from amls_speech.synth.espeak import EspeakSynth, voice_variant_genders
from amls_speech.synth.postprocess import resample, trim_silence
from data_prep.generated_corpus import build_corpus, write_wav

logger = logging.getLogger(__name__)

STAMP_NAME = "synth_keywords.json"
GENERATOR_VERSION = 1
VALIDATION_PERCENTAGE = 10.0
TESTING_PERCENTAGE = 10.0
MAX_NUM_WAVS_PER_CLASS = 2**27 - 1  # ~134M, as in the official input_data.py

# Voice variants used as speakers, standard ones first. Left out: whispering,
# robotic and "special effect" variants (whisper, whisperf, Demonic,
# UniRobot, croak, anikaRobot), the very slow Marco and the variants that
# declare no gender.
MALE_VARIANTS = (
    "m1 m2 m3 m4 m5 m6 m7 m8 Andy AnxiousAndy Denis Diogo Henrique Hugo Lee "
    "Storm antonio michel miguel sandro travis victor"
).split()
FEMALE_VARIANTS = (
    "f1 f2 f3 f4 f5 Alicia Andrea Annie anika aunty belinda grandma linda "
    "steph steph2 steph3"
).split()
LANGUAGE = "en-us"

# Per-speaker parameter ranges (eSpeak units) and per-take jitter.
PITCH_RANGE = (25, 75)  # 0..100, 50 = the variant's normal pitch
RANGE_RANGE = (30, 90)  # pitch range 0..100
RATE_RANGE = (140, 210)  # words per minute
TAKE_RATE_JITTER = 0.08  # relative
TAKE_PITCH_JITTER = 5  # absolute
TAKE_RANGE_JITTER = 6
SNR_DB_RANGE = (15.0, 35.0)
PEAK_RANGE = (0.25, 0.95)
NOISE_SECONDS = 10


def which_set(filename, validation_percentage=VALIDATION_PERCENTAGE,
              testing_percentage=TESTING_PERCENTAGE):
    """The official Speech Commands split rule (``input_data.which_set``).

    The part of the name before ``_nohash_`` (the speaker) is hashed with
    SHA1, so every take of a speaker lands in the same set.

    Arguments
    ---------
    filename : str
        Path or name of a file, e.g. ``"yes/0a7c2a8d_nohash_0.wav"``.
    validation_percentage, testing_percentage : float
        Percentages of the speakers in the validation and testing sets.

    Returns
    -------
    str
        ``"training"``, ``"validation"`` or ``"testing"``.

    Example
    -------
    >>> which_set("yes/0a7c2a8d_nohash_0.wav") == which_set("no/0a7c2a8d_nohash_3.wav")
    True
    >>> which_set("x_nohash_0.wav") in ("training", "validation", "testing")
    True
    """
    base_name = os.path.basename(filename)
    hash_name = re.sub(r"_nohash_.*$", "", base_name)
    hash_name_hashed = hashlib.sha1(hash_name.encode("utf-8")).hexdigest()
    percentage_hash = (int(hash_name_hashed, 16) % (MAX_NUM_WAVS_PER_CLASS + 1)) * (
        100.0 / MAX_NUM_WAVS_PER_CLASS
    )
    if percentage_hash < validation_percentage:
        return "validation"
    if percentage_hash < testing_percentage + validation_percentage:
        return "testing"
    return "training"


def _word_key(word):
    return int(hashlib.sha1(word.encode("utf-8")).hexdigest()[:8], 16)


def make_speakers(seed, speakers_per_gender):
    """Draws the synthetic speakers: id, gender, voice and eSpeak settings.

    Speaker ``i`` of a gender depends only on ``seed``, the gender and ``i``,
    so a corpus with more speakers contains the speakers of a smaller one.

    Arguments
    ---------
    seed : int
        Random seed.
    speakers_per_gender : int
        Number of male and of female speakers.

    Returns
    -------
    list of dict
        Keys ``speaker`` (8 hex chars), ``gender``, ``voice``, ``pitch``,
        ``range``, ``rate``, ``index`` (per gender); males first.

    Example
    -------
    >>> s = make_speakers(0, 2)
    >>> [x["gender"] for x in s]
    ['male', 'male', 'female', 'female']
    >>> all(len(x["speaker"]) == 8 for x in s), s == make_speakers(0, 2)
    (True, True)
    """
    available = voice_variant_genders()
    speakers, seen = [], set()
    for g_code, (gender, pool) in enumerate((("male", MALE_VARIANTS), ("female", FEMALE_VARIANTS))):
        pool = [v for v in pool if available.get(v) == gender]
        if not pool:
            raise RuntimeError("no %s eSpeak voice variants found" % gender)
        order = np.random.default_rng([seed, 1000 + g_code]).permutation(len(pool))
        for i in range(speakers_per_gender):
            rng = np.random.default_rng([seed, g_code, i])
            salt = 0
            while True:
                text = "amls-speech-keywords:%d:%s:%d:%d" % (seed, gender, i, salt)
                speaker = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
                if speaker not in seen:
                    break
                salt += 1
            seen.add(speaker)
            speakers.append(
                {
                    "speaker": speaker,
                    "gender": gender,
                    "index": i,
                    "voice": "%s+%s" % (LANGUAGE, pool[order[i % len(pool)]]),
                    "pitch": int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1)),
                    "range": int(rng.integers(RANGE_RANGE[0], RANGE_RANGE[1] + 1)),
                    "rate": int(rng.integers(RATE_RANGE[0], RATE_RANGE[1] + 1)),
                }
            )
    return speakers


def _noise(rng, n):
    """Light background noise: a random mix of white and low-passed noise."""
    white = rng.standard_normal(n)
    pole = rng.uniform(0.9, 0.995)
    coloured = lfilter([1.0], [1.0, -pole], rng.standard_normal(n))
    coloured /= coloured.std() + 1e-12
    mix = rng.uniform(0.0, 1.0)
    out = mix * white + (1.0 - mix) * coloured
    return out / (out.std() + 1e-12)


def render_take(tts, speaker, word, take, seed, sample_rate=16000):
    """Synthesises one take of ``word`` by ``speaker``: a 1 s float32 clip.

    Arguments
    ---------
    tts : EspeakSynth
        The synthesiser.
    speaker : dict
        One item of :func:`make_speakers`.
    word : str
        The word to say.
    take : int
        Take number (selects the random variation).
    seed : int
        Corpus seed.
    sample_rate : int
        Output rate; the clip has ``sample_rate`` samples.

    Returns
    -------
    numpy.ndarray
        float32, shape ``(sample_rate,)``, peak below 1.

    Example
    -------
    >>> tts = EspeakSynth()
    >>> spk = make_speakers(0, 1)[1]
    >>> clip = render_take(tts, spk, "yes", 0, seed=0)
    >>> clip.shape, clip.dtype, 0.2 < float(abs(clip).max()) < 1
    ((16000,), dtype('float32'), True)
    """
    g_code = 0 if speaker["gender"] == "male" else 1
    rng = np.random.default_rng([seed, g_code, speaker["index"], _word_key(word), take])
    rate = speaker["rate"] * (1.0 + rng.uniform(-TAKE_RATE_JITTER, TAKE_RATE_JITTER))
    pitch = np.clip(speaker["pitch"] + rng.integers(-TAKE_PITCH_JITTER, TAKE_PITCH_JITTER + 1), 0, 100)
    prange = np.clip(speaker["range"] + rng.integers(-TAKE_RANGE_JITTER, TAKE_RANGE_JITTER + 1), 0, 100)
    espeak_seed = int(rng.integers(0, 2**31 - 1))  # eSpeak's breath noise
    clip_len = int(sample_rate)
    for _ in range(4):  # speak faster until the word fits in 95 % of the clip
        wav = tts.synth(word, speaker["voice"], int(round(rate)), int(pitch), int(prange),
                        seed=espeak_seed)
        wav = trim_silence(wav, tts.sample_rate, margin=0.01)
        wav = resample(wav, tts.sample_rate, sample_rate)
        if len(wav) <= 0.95 * clip_len:
            break
        rate = min(rate * 1.25, 450)
    if len(wav) > clip_len:  # still too long: cut with a short fade-out
        wav = wav[:clip_len].copy()
        fade = min(clip_len // 50, len(wav))
        wav[-fade:] *= np.linspace(1.0, 0.0, fade)
    if not np.any(wav):
        raise RuntimeError("eSpeak produced silence for %r with %s" % (word, speaker["voice"]))

    clip = np.zeros(clip_len)
    offset = int(rng.integers(0, clip_len - len(wav) + 1))
    clip[offset: offset + len(wav)] = wav
    speech_power = np.mean(wav[np.abs(wav) > 0.05 * np.abs(wav).max()] ** 2)
    snr_db = rng.uniform(*SNR_DB_RANGE)
    clip += _noise(rng, clip_len) * np.sqrt(speech_power / 10.0 ** (snr_db / 10.0))
    clip *= rng.uniform(*PEAK_RANGE) / np.abs(clip).max()
    return clip.astype(np.float32)


def _arguments(seed, speakers_per_gender, takes, words, sample_rate):
    return {
        "generator": "amls_speech data_prep/synth_keywords.py",
        "version": GENERATOR_VERSION,
        "seed": int(seed),
        "speakers_per_gender": int(speakers_per_gender),
        "takes": int(takes),
        "words": list(words),
        "sample_rate": int(sample_rate),
    }


def _write_noise_files(folder, seed, sample_rate):
    folder.mkdir()
    rng = np.random.default_rng([seed, 2000])
    n = NOISE_SECONDS * sample_rate
    white = rng.standard_normal(n)
    # pink: 1/f spectrum shaped in the frequency domain
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=float)
    f[0] = 1.0
    pink = np.fft.irfft(spec / np.sqrt(f), n)
    brown = lfilter([1.0], [1.0, -0.995], rng.standard_normal(n))
    for name, x in (("white_noise", white), ("pink_noise", pink), ("brown_noise", brown)):
        x = x - x.mean()
        x = 0.5 * x / np.abs(x).max()
        write_wav(folder / (name + ".wav"), x.astype(np.float32), sample_rate)


# Benchmark-scale defaults (measurements: docs/data_scale/README.md). 60
# speakers per gender x 8 takes x 35 words = 33,600 clips, 1.5-2.5 min on
# one core. The target test sets then hold 12 speakers: 2,400 clips for M->F
# and F->M (25 target words x 8 takes) and 2,016 for the microphone tasks
# rendered from this corpus (60 target-half speakers, 21 target words).
DEFAULT_SPEAKERS_PER_GENDER = 60
DEFAULT_TAKES = 8


def generate_keywords(out, seed=0, speakers_per_gender=DEFAULT_SPEAKERS_PER_GENDER,
                      takes=DEFAULT_TAKES, words=None, sample_rate=16000):
    """Generates the synthetic Speech Commands v0.02 stand-in into ``out``.

    Arguments
    ---------
    out : str or Path
        Corpus folder to create (must not exist, be empty, or hold a corpus
        made with the same arguments).
    seed : int
        Random seed; the same arguments give byte-identical files.
    speakers_per_gender : int
        Number of male and of female speakers (default 60: the benchmark
        scale, see :data:`DEFAULT_SPEAKERS_PER_GENDER`).
    takes : int
        Takes per word and speaker (``_nohash_0`` .. ``_nohash_<takes-1>``;
        default 8).
    words : list of str, optional
        Words to generate; default: the 35 Speech Commands v0.02 words.
    sample_rate : int
        Output sample rate; clips are 1 s long.

    Returns
    -------
    Path
        ``out``.

    Example
    -------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> out = generate_keywords(os.path.join(d, "kw"), words=["go"],
    ...                         speakers_per_gender=1, takes=2)
    >>> sorted(p.name for p in (out / "go").iterdir())[0].endswith("_nohash_0.wav")
    True
    >>> generate_keywords(out, words=["go"], speakers_per_gender=1, takes=2) == out
    True
    >>> import shutil; shutil.rmtree(d)
    """
    out = Path(out)
    words = list(SPEECH_COMMANDS_WORDS if words is None else words)
    if not words or len(set(words)) != len(words):
        raise ValueError("words must be a non-empty list without duplicates: %s" % words)
    for w in words:
        if not w or w.startswith("_") or "/" in w or w != w.strip():
            raise ValueError("invalid word %r" % w)
    if speakers_per_gender < 1 or takes < 1 or sample_rate < 8000:
        raise ValueError("need speakers_per_gender >= 1, takes >= 1 and sample_rate >= 8000")
    arguments = _arguments(seed, speakers_per_gender, takes, words, sample_rate)

    def fill(tmp):
        """Render every take, the noise files, the official lists and ``speakers.csv`` into ``tmp``."""
        # The library is reloaded for every (word, speaker): a file then
        # depends only on the seed, its speaker, word and take number (eSpeak's
        # output drifts slightly with the calls made since the last load).
        tts = EspeakSynth(reset=False)
        speakers = make_speakers(seed, speakers_per_gender)
        lists = {"validation": [], "testing": []}
        for word in words:
            (tmp / word).mkdir()
            for spk in speakers:
                tts.reload()
                for take in range(takes):
                    rel = "%s/%s_nohash_%d.wav" % (word, spk["speaker"], take)
                    clip = render_take(tts, spk, word, take, seed, sample_rate)
                    write_wav(tmp / rel, clip, sample_rate)
                    split = which_set(rel)
                    if split in lists:
                        lists[split].append(rel)
        _write_noise_files(tmp / "_background_noise_", seed, sample_rate)
        for split, name in (("validation", "validation_list.txt"), ("testing", "testing_list.txt")):
            with open(tmp / name, "w", encoding="utf-8", newline="\n") as f:
                f.writelines(rel + "\n" for rel in sorted(lists[split]))
        with open(tmp / "speakers.csv", "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["speaker", "gender"])
            for spk in speakers:
                writer.writerow([spk["speaker"], spk["gender"]])
        return {
            "arguments": arguments,
            "note": "SYNTHETIC data: eSpeak NG text-to-speech, not recorded speech",
            "speakers": speakers,
        }

    start = time.time()
    stamp = build_corpus(out, arguments, STAMP_NAME, "synthetic keyword corpus", fill, sync=True)
    if stamp is not None:
        logger.info(
            "wrote %d synthetic keyword clips to %s in %.1f s",
            len(words) * len(stamp["speakers"]) * takes, out, time.time() - start,
        )
    return out


def main(argv=None):
    """Command line entry point (see the module docstring).

    Example
    -------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> main(["--out", os.path.join(d, "kw"), "--words", "no", "--speakers_per_gender", "1",
    ...       "--takes", "1"])
    0
    >>> import shutil; shutil.rmtree(d)
    """
    parser = argparse.ArgumentParser(
        description="Generate a SYNTHETIC (eSpeak NG text-to-speech) stand-in for "
        "Google Speech Commands v0.02, in its folder layout."
    )
    parser.add_argument("--out", required=True, help="corpus folder to create")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speakers_per_gender", type=int, default=DEFAULT_SPEAKERS_PER_GENDER,
                        help="male and female speakers each (default %(default)s)")
    parser.add_argument("--takes", type=int, default=DEFAULT_TAKES,
                        help="takes per word and speaker (default %(default)s)")
    parser.add_argument("--words", nargs="+", default=None,
                        help="words to generate (default: the 35 v0.02 words)")
    parser.add_argument("--sample_rate", type=int, default=16000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    generate_keywords(args.out, seed=args.seed, speakers_per_gender=args.speakers_per_gender,
                      takes=args.takes, words=args.words, sample_rate=args.sample_rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
