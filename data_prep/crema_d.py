"""Read CREMA-D (Crowd-sourced Emotional Multimodal Actors Dataset).

Layout read (the official release)::

    <root>/AudioWAV/<actor>_<sentence>_<EMO>_<level>.wav    e.g. 1001_DFA_ANG_XX.wav
    <root>/VideoDemographics.csv                             ActorID,Age,Sex,Race,Ethnicity

``actor`` is 1001..1091, ``sentence`` one of 12 three-letter codes (DFA, IEO,
...), ``EMO`` one of ANG DIS FEA HAP NEU SAD and ``level`` LO/MD/HI/XX
(XX: unspecified). The audio is 16 kHz mono.

Decisions (documented, tested):

* A malformed file name or an unknown emotion code raises ``ValueError``
  naming the file (never skipped silently). The level ``X`` (one old release
  named ``1040_ITH_SAD_X.wav``, CREMA-D issue #6) is read as ``XX``.
* Sex comes from ``VideoDemographics.csv``. An actor without a row there
  (or a missing demographics file) keeps its files, with sex recorded as
  ``"unknown"`` and a warning naming the actors: sex is not a label of the
  emotion task, so the files stay usable and nothing is guessed.

This module only lists the corpus; :mod:`data_prep.emotion` turns it into
manifests. ``python data_prep/crema_d.py ROOT`` prints a summary.
"""

import collections
import csv
import logging
import os
import re
import sys

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from data_prep.common import corpus_summary_main, find_csv_columns  # noqa: E402

logger = logging.getLogger(__name__)

CREMA_EMOTIONS = {
    "ANG": "anger",
    "DIS": "disgust",
    "FEA": "fear",
    "HAP": "happy",
    "NEU": "neutral",
    "SAD": "sad",
}
CREMA_LEVELS = ("LO", "MD", "HI", "XX")
_NAME_RE = re.compile(
    r"^(?P<actor>\d{4})_(?P<sentence>[A-Za-z]{3})_(?P<emotion>[A-Za-z]{3})_(?P<level>[A-Za-z]{1,2})\.wav$",
    re.IGNORECASE,
)

CremaRecord = collections.namedtuple(
    "CremaRecord", "path actor sentence emotion level sex", defaults=("unknown",)
)
CremaRecord.__doc__ = """One CREMA-D file: actor id, sentence code, emotion code
(ANG ...), level (LO/MD/HI/XX), sex (male/female/unknown)."""


def parse_crema_name(path):
    """Parse ``<actor>_<sentence>_<EMO>_<level>.wav`` into a :class:`CremaRecord`.

    Example
    -------
    >>> r = parse_crema_name("/data/AudioWAV/1001_DFA_ANG_XX.wav")
    >>> r.actor, r.sentence, r.emotion, r.level, r.sex
    ('1001', 'DFA', 'ANG', 'XX', 'unknown')
    >>> parse_crema_name("1001_DFA_XYZ_XX.wav")
    Traceback (most recent call last):
    ...
    ValueError: 1001_DFA_XYZ_XX.wav: unknown CREMA-D emotion code 'XYZ' (expected one of ANG, DIS, FEA, HAP, NEU, SAD)
    >>> parse_crema_name("1001-DFA.wav")
    Traceback (most recent call last):
    ...
    ValueError: 1001-DFA.wav: not a CREMA-D file name <actor>_<sentence>_<EMO>_<level>.wav (e.g. 1001_DFA_ANG_XX.wav)
    """
    m = _NAME_RE.match(os.path.basename(path))
    if not m:
        raise ValueError(
            "%s: not a CREMA-D file name <actor>_<sentence>_<EMO>_<level>.wav "
            "(e.g. 1001_DFA_ANG_XX.wav)" % path
        )
    emotion = m.group("emotion").upper()
    if emotion not in CREMA_EMOTIONS:
        raise ValueError(
            "%s: unknown CREMA-D emotion code %r (expected one of %s)"
            % (path, m.group("emotion"), ", ".join(sorted(CREMA_EMOTIONS)))
        )
    level = m.group("level").upper()
    if level == "X":  # 1040_ITH_SAD_X.wav in an old release
        level = "XX"
    if level not in CREMA_LEVELS:
        raise ValueError(
            "%s: unknown CREMA-D level %r (expected one of %s)"
            % (path, m.group("level"), ", ".join(CREMA_LEVELS))
        )
    return CremaRecord(path, m.group("actor"), m.group("sentence").upper(), emotion, level)


def read_crema_demographics(root):
    """``{actor: "male" | "female" | "unknown"}`` from ``VideoDemographics.csv``.

    A missing file gives ``{}`` (with a warning).

    Example
    -------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, "VideoDemographics.csv"), "w").write(
    ...     "ActorID,Age,Sex,Race,Ethnicity\\n1001,51,Male,Caucasian,Not Hispanic\\n"
    ...     "1002,21,Female,Caucasian,Not Hispanic\\n")
    >>> read_crema_demographics(d)
    {'1001': 'male', '1002': 'female'}
    """
    path = os.path.join(root, "VideoDemographics.csv")
    if not os.path.isfile(path):
        logger.warning("%s not found: the sex of every CREMA-D actor is 'unknown'", path)
        return {}
    out = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        cols = find_csv_columns(
            reader, ("actorid", "sex"), "%s must have the columns ActorID and Sex" % path
        )
        for row in reader:
            actor = (row[cols["actorid"]] or "").strip()
            if not actor:
                continue
            sex = (row[cols["sex"]] or "").strip().lower()
            out[actor] = sex if sex in ("male", "female") else "unknown"
    return out


def list_crema_d(root):
    """Every ``AudioWAV/*.wav`` of CREMA-D as :class:`CremaRecord` (sorted, with sex).

    Raises
    ------
    FileNotFoundError
        ``<root>/AudioWAV`` does not exist.
    ValueError
        A malformed file name or unknown emotion code (naming the file).

    Example
    -------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> (Path(tmp.name) / "AudioWAV").mkdir()
    >>> for name in ("1002_IEO_SAD_LO.wav", "1001_DFA_ANG_XX.wav", "README.txt"):
    ...     (Path(tmp.name) / "AudioWAV" / name).touch()  # only the names are read
    >>> _ = (Path(tmp.name) / "VideoDemographics.csv").write_text(
    ...     "ActorID,Age,Sex,Race,Ethnicity\\n1001,51,Male,Caucasian,Not Hispanic\\n")
    >>> [(r.actor, r.sentence, r.emotion, r.level, r.sex) for r in list_crema_d(tmp.name)]
    [('1001', 'DFA', 'ANG', 'XX', 'male'), ('1002', 'IEO', 'SAD', 'LO', 'unknown')]
    >>> tmp.cleanup()
    """
    wav_dir = os.path.join(root, "AudioWAV")
    if not os.path.isdir(wav_dir):
        raise FileNotFoundError(
            "%s not found: point --crema_folder at the CREMA-D root (the folder "
            "holding AudioWAV/ and VideoDemographics.csv)" % wav_dir
        )
    sexes = read_crema_demographics(root)
    records, no_row = [], set()
    for name in sorted(os.listdir(wav_dir)):
        if not name.lower().endswith(".wav"):
            continue
        rec = parse_crema_name(os.path.join(wav_dir, name))
        if rec.actor not in sexes:
            no_row.add(rec.actor)
        records.append(rec._replace(sex=sexes.get(rec.actor, "unknown")))
    if no_row and sexes:
        logger.warning(
            "%d CREMA-D actor(s) have no row in VideoDemographics.csv: %s; their files "
            "are kept with sex 'unknown'",
            len(no_row),
            sorted(no_row),
        )
    return records


def main(argv=None):
    """``python data_prep/crema_d.py ROOT``: print the file and actor counts, then files per emotion.

    Returns the exit status (2 with a usage line unless exactly one argument is given).
    """
    return corpus_summary_main(
        argv, "usage: python data_prep/crema_d.py CREMA_D_ROOT", list_crema_d, "files",
        lambda code: "%s %-8s" % (code, CREMA_EMOTIONS[code]),
    )


if __name__ == "__main__":
    sys.exit(main())
