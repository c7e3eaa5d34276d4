"""Renders a clean keyword corpus through simulated microphones (Mic2Mic stand-in).

The result is SYNTHETIC: the recordings are a clean Speech Commands-layout
corpus (e.g. the eSpeak NG one of ``data_prep/synth_keywords.py``) played
through the simulated devices of :mod:`amls_speech.synth.microphones` (room
impulse responses, band limits, resonances, noise, hum, AGC, clipping, an
8 kHz mu-law codec). It imitates the channel shift between Mic2Mic's
microphones, not their real recordings.

Read (Google Speech Commands v0.02 layout)::

    <keywords>/<word>/<speaker>_nohash_<n>.wav    16 kHz mono
    <keywords>/speakers.csv                       speaker,gender (copied if present)

Written (the layout ``data_prep/mic2mic.py`` reads)::

    <out>/<mic_folder>/<word>/<speaker>_nohash_<n>.wav   16 kHz mono 16-bit PCM
    <out>/speakers.csv
    <out>/synth_microphones.json                         stamp: the arguments

Every device renders every clip (Mic2Mic recorded simultaneously on all
microphones) with the default folders ``M=matrix, R=respeaker, U=usb``. By
default the 31 Mic2Mic words are rendered, and all must exist in the clean
corpus. Each clip's noise, hum phases etc. come from a seed derived from the
global seed, the device letter and the clip's ``<word>/<file>`` name, so the
output is byte-identical whatever the order or the number of workers.

The corpus is built in a temporary folder next to ``out`` and renamed into
place at the end. A second run with the same arguments (and the same clean
files) does nothing; different arguments raise :class:`FileExistsError` (see
:mod:`data_prep.generated_corpus`).

Usage::

    python data_prep/synth_microphones.py --keywords DIR --out DIR
        [--devices M,R,U] [--seed N] [--words yes no ...]
        [--mic_folders M=matrix,R=respeaker,U=usb] [--workers N]

Rendering the default keyword corpus (60 speakers per gender x 8 takes: 29,760
clips of the 31 words) through M, R and U takes about 7.5 min with one worker
(about 4 min with the default 2); a source-only model then reaches 92-95 % on
the held-out speakers of the source microphone (docs/data_scale/README.md).

Example
-------
>>> import tempfile, os, numpy as np, soundfile as sf
>>> d = tempfile.mkdtemp()
>>> os.makedirs(os.path.join(d, "kw", "yes"))
>>> sf.write(os.path.join(d, "kw", "yes", "ab12_nohash_0.wav"),
...          0.3 * np.sin(np.arange(16000) / 4.0), 16000)
>>> out = render_microphones(os.path.join(d, "kw"), os.path.join(d, "mics"),
...                          words=["yes"], workers=1)
>>> sorted(p.name for p in out.iterdir())
['matrix', 'respeaker', 'synth_microphones.json', 'usb']
"""

import argparse
import hashlib
import logging
import shutil
import sys
import time
from pathlib import Path

try:
    import amls_speech  # noqa: F401
except ImportError:  # run as a file from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import soundfile as sf  # noqa: E402

from amls_speech.partitions import MIC2MIC_WORDS  # noqa: E402
from amls_speech.synth.microphones import DEVICES, SAMPLE_RATE, file_seed  # noqa: E402
from data_prep.generated_corpus import build_corpus, run_jobs, write_wav  # noqa: E402

logger = logging.getLogger(__name__)

STAMP_NAME = "synth_microphones.json"
RENDERER_VERSION = 1


def _parse_letters(devices):
    if isinstance(devices, str):
        devices = [d for d in devices.replace(" ", "").split(",") if d]
    devices = [d.upper() for d in devices]
    if not devices or len(set(devices)) != len(devices):
        raise ValueError("devices must be a non-empty list without duplicates: %s" % devices)
    unknown = [d for d in devices if d not in DEVICES]
    if unknown:
        raise ValueError("unknown device(s) %s: known %s" % (unknown, sorted(DEVICES)))
    return devices


def _list_clips(keywords, words):
    """Sorted ``<word>/<file>.wav`` names of the clean corpus for ``words``."""
    missing = [w for w in words if not (keywords / w).is_dir()]
    if missing:
        raise FileNotFoundError(
            "the clean keyword corpus %s lacks the word folder(s) %s" % (keywords, missing)
        )
    clips = []
    for word in words:
        names = sorted(
            p.name for p in (keywords / word).iterdir() if p.suffix.lower() == ".wav" and p.is_file()
        )
        if not names:
            raise FileNotFoundError("no .wav file in %s" % (keywords / word))
        clips.extend("%s/%s" % (word, n) for n in names)
    return clips


def _fingerprint(keywords, clips):
    """Hash of the clean clips' names and sizes (detects a changed input)."""
    h = hashlib.sha256()
    for rel in clips:
        h.update(("%s\t%d\n" % (rel, (keywords / rel).stat().st_size)).encode())
    return h.hexdigest()


def _read_clean(path):
    try:
        wav, sr = sf.read(str(path), dtype="float64", always_2d=True)
    except Exception as err:  # soundfile raises several types
        raise ValueError("cannot read %s (%s): delete or re-create it" % (path, err)) from err
    if wav.shape[0] == 0:
        raise ValueError("%s has no samples: delete or re-create it" % path)
    return wav.mean(axis=1), sr


def _render_clip(job):
    """Render one clean clip through every device (runs in a worker)."""
    keywords, tmp, rel, letters, folders, seed = job
    wav, sr = _read_clean(Path(keywords) / rel)
    for letter in letters:
        out = DEVICES[letter](wav, seed=file_seed(rel, letter, seed), sample_rate=sr)
        write_wav(Path(tmp) / folders[letter] / rel, out, SAMPLE_RATE)
    return rel


def render_microphones(
    keywords, out, devices=("M", "R", "U"), words=None, seed=0, mic_folders=None, workers=2
):
    """Renders the clean keyword corpus ``keywords`` through simulated microphones.

    Arguments
    ---------
    keywords : str or Path
        Clean corpus in the Speech Commands layout (``<word>/<file>.wav``).
    out : str or Path
        Folder to create (must not exist, be empty, or hold a rendering made
        with the same arguments).
    devices : sequence of str or str
        Device letters of :data:`amls_speech.synth.microphones.DEVICES`
        (``"M,R,U"`` is accepted too).
    words : list of str, optional
        Words to render; default the 31 Mic2Mic words (all must exist).
    seed : int
        Global seed of the devices' random stages.
    mic_folders : dict, optional
        Device letter -> folder name; default ``M=matrix, R=respeaker, U=usb``.
    workers : int
        Worker processes (the output does not depend on it).

    Returns
    -------
    Path
        ``out``.

    Example
    -------
    >>> import tempfile, os, numpy as np, soundfile as sf
    >>> d = tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(d, "kw", "no"))
    >>> sf.write(os.path.join(d, "kw", "no", "cd34_nohash_0.wav"), np.zeros(16000), 16000)
    >>> out = render_microphones(os.path.join(d, "kw"), os.path.join(d, "m"), devices="U",
    ...                          words=["no"], workers=1)
    >>> sf.info(str(out / "usb" / "no" / "cd34_nohash_0.wav")).samplerate
    16000
    >>> render_microphones(os.path.join(d, "kw"), out, devices="U", words=["no"]) == out
    True
    """
    keywords = Path(keywords).resolve()
    out = Path(out).resolve()
    if not keywords.is_dir():
        raise FileNotFoundError("clean keyword corpus %s not found" % keywords)
    letters = _parse_letters(devices)
    folders = {k: DEVICES[k].folder for k in DEVICES}
    folders.update(mic_folders or {})
    folders = {k: folders[k] for k in letters}
    if len(set(folders.values())) != len(folders):
        raise ValueError("two devices share a folder: %s" % folders)
    for name in folders.values():
        if not name or name.startswith((".", "_")) or "/" in name or name == "speakers.csv":
            raise ValueError("invalid microphone folder name %r" % name)
    words = sorted(MIC2MIC_WORDS if words is None else words)
    if not words or len(set(words)) != len(words):
        raise ValueError("words must be a non-empty list without duplicates: %s" % words)
    clips = _list_clips(keywords, words)
    arguments = {
        "renderer": "amls_speech data_prep/synth_microphones.py",
        "version": RENDERER_VERSION,
        "keywords": str(keywords),
        "keywords_fingerprint": _fingerprint(keywords, clips),
        "devices": letters,
        "mic_folders": folders,
        "chains": {k: [repr(s) for s in DEVICES[k].stages] for k in letters},
        "words": words,
        "seed": int(seed),
    }

    def fill(tmp):
        """Render every clip through every device into ``tmp``, copy ``speakers.csv``; return the stamp."""
        for letter in letters:
            DEVICES[letter].prepare()  # room responses computed once, before forking
            for word in words:
                (tmp / folders[letter] / word).mkdir(parents=True)
        jobs = [(str(keywords), str(tmp), rel, letters, folders, int(seed)) for rel in clips]
        run_jobs(_render_clip, jobs, workers, chunksize=16)
        if (keywords / "speakers.csv").is_file():
            shutil.copyfile(keywords / "speakers.csv", tmp / "speakers.csv")
        else:
            logger.warning("%s has no speakers.csv: none copied", keywords)
        return {
            "arguments": arguments,
            "note": "SYNTHETIC data: clean keywords rendered through simulated microphones",
            "devices": {
                k: {"name": DEVICES[k].name, "description": DEVICES[k].description}
                for k in letters
            },
            "clips_per_device": len(clips),
        }

    start = time.time()
    stamp = build_corpus(out, arguments, STAMP_NAME, "simulated-microphone corpus", fill,
                         show_diff=True)
    if stamp is not None:
        logger.info(
            "rendered %d clips through %d simulated microphones (%s) into %s in %.1f s",
            len(clips), len(letters), ",".join(letters), out, time.time() - start,
        )
    return out


def _parse_mic_folders(text):
    folders = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        letter, sep, name = item.partition("=")
        if not sep or not letter or not name:
            raise argparse.ArgumentTypeError("expected LETTER=folder pairs, got %r" % item)
        folders[letter.strip().upper()] = name.strip()
    return folders


def main(argv=None):
    """Command line entry point (see the module docstring).

    Example
    -------
    >>> import tempfile, os, numpy as np, soundfile as sf
    >>> d = tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(d, "kw", "up"))
    >>> sf.write(os.path.join(d, "kw", "up", "ef56_nohash_0.wav"), np.zeros(800), 16000)
    >>> main(["--keywords", os.path.join(d, "kw"), "--out", os.path.join(d, "m"),
    ...       "--devices", "M,U", "--words", "up", "--workers", "1"])
    0
    """
    parser = argparse.ArgumentParser(
        description="Render a clean Speech Commands-layout keyword corpus through "
        "simulated microphones (a SYNTHETIC Mic2Mic stand-in)."
    )
    parser.add_argument("--keywords", required=True, help="clean keyword corpus folder")
    parser.add_argument("--out", required=True, help="folder to create")
    parser.add_argument("--devices", default="M,R,U",
                        help="device letters, comma separated (default M,R,U)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--words", nargs="+", default=None,
                        help="words to render (default: the 31 Mic2Mic words)")
    parser.add_argument("--mic_folders", type=_parse_mic_folders, default=None,
                        help="LETTER=folder pairs (default M=matrix,R=respeaker,U=usb)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    render_microphones(args.keywords, args.out, devices=args.devices, words=args.words,
                       seed=args.seed, mic_folders=args.mic_folders, workers=args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
