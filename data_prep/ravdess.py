"""Read RAVDESS speech (Ryerson Audio-Visual Database of Emotional Speech and Song).

Layout read (``Audio_Speech_Actors_01-24.zip`` extracted)::

    <root>/Actor_XX/<mo>-<ch>-<emo>-<int>-<stmt>-<rep>-<actor>.wav
    e.g. Actor_01/03-01-05-02-01-01-01.wav

Fields (two digits each): modality 01 full-AV, 02 video-only, 03 audio-only;
vocal channel 01 speech, 02 song; emotion 01 neutral, 02 calm, 03 happy,
04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised; intensity 01 normal,
02 strong; statement 01/02; repetition 01/02; actor 01..24 in the release (any
two-digit number is read: the embedded RAVDESS-like stand-in has more), odd actors male,
even actors female. The audio is 48 kHz (the training pipeline resamples).

Decisions (documented, tested):

* Only audio-only (modality 03) *speech* (channel 01) files are used. Song
  files (``03-02-...``, e.g. when the song zip was extracted into the same
  ``Actor_XX`` folders) and other modalities are skipped, with a logged count.
* An unknown emotion code, or a malformed name, raises ``ValueError`` naming
  the file.
* The actor number of the *file name* is authoritative; a file whose actor
  differs from its ``Actor_XX`` folder is kept and logged as a warning.

``python data_prep/ravdess.py ROOT`` prints a summary.
"""

import collections
import logging
import os
import re
import sys

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from data_prep.common import corpus_summary_main  # noqa: E402

logger = logging.getLogger(__name__)

RAVDESS_EMOTIONS = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
RAVDESS_MODALITIES = {"01": "full-AV", "02": "video-only", "03": "audio-only"}
RAVDESS_CHANNELS = {"01": "speech", "02": "song"}
_NAME_RE = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})\.wav$", re.I)
_ACTOR_DIR_RE = re.compile(r"^Actor_(\d{2})$")

RavdessRecord = collections.namedtuple(
    "RavdessRecord",
    "path modality channel emotion intensity statement repetition actor sex",
)
RavdessRecord.__doc__ = """One RAVDESS file: modality/channel codes, emotion name
(neutral ... surprised), intensity (normal/strong), statement and repetition
codes, actor ("01".."24"), sex (odd actors male, even female)."""


def parse_ravdess_name(path):
    """Parse a RAVDESS file name into a :class:`RavdessRecord`.

    Example
    -------
    >>> r = parse_ravdess_name("Actor_01/03-01-05-02-01-01-01.wav")
    >>> r.modality, r.channel, r.emotion, r.intensity, r.actor, r.sex
    ('03', 'speech', 'angry', 'strong', '01', 'male')
    >>> parse_ravdess_name("Actor_02/03-01-02-01-01-01-02.wav").sex
    'female'
    >>> parse_ravdess_name("Actor_01/03-01-09-01-01-01-01.wav")
    Traceback (most recent call last):
    ...
    ValueError: Actor_01/03-01-09-01-01-01-01.wav: unknown RAVDESS emotion code '09' (expected 01..08)
    """
    m = _NAME_RE.match(os.path.basename(path))
    if not m:
        raise ValueError(
            "%s: not a RAVDESS file name <modality>-<channel>-<emotion>-<intensity>-"
            "<statement>-<repetition>-<actor>.wav (e.g. 03-01-05-02-01-01-01.wav)" % path
        )
    mo, ch, emo, inten, stmt, rep, actor = m.groups()
    if emo not in RAVDESS_EMOTIONS:
        raise ValueError("%s: unknown RAVDESS emotion code %r (expected 01..08)" % (path, emo))
    for what, code, known in (
        ("modality", mo, RAVDESS_MODALITIES),
        ("vocal channel", ch, RAVDESS_CHANNELS),
        ("intensity", inten, ("01", "02")),
        ("statement", stmt, ("01", "02")),
        ("repetition", rep, ("01", "02")),
    ):
        if code not in known:
            raise ValueError(
                "%s: unknown RAVDESS %s code %r (expected %s)"
                % (path, what, code, "/".join(sorted(known)))
            )
    if int(actor) < 1:  # the release has 01..24; larger stand-ins use the same naming
        raise ValueError("%s: RAVDESS actor %r is out of range (01 upwards)" % (path, actor))
    return RavdessRecord(
        path,
        mo,
        RAVDESS_CHANNELS[ch],
        RAVDESS_EMOTIONS[emo],
        "normal" if inten == "01" else "strong",
        stmt,
        rep,
        actor,
        "male" if int(actor) % 2 == 1 else "female",
    )


def list_ravdess(root):
    """Audio-only speech files of ``<root>/Actor_XX/`` as sorted :class:`RavdessRecord`.

    Song files and non-audio modalities are skipped (counts logged).

    Raises
    ------
    FileNotFoundError
        No ``Actor_XX`` folder under ``root``.
    ValueError
        A malformed name or unknown emotion code (naming the file).

    Example
    -------
    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for rel in ("Actor_01/03-01-05-02-01-01-01.wav", "Actor_01/03-02-05-01-01-01-01.wav",
    ...             "Actor_02/03-01-02-01-02-01-02.wav"):  # the second one is song
    ...     (Path(tmp.name) / rel).parent.mkdir(exist_ok=True)
    ...     (Path(tmp.name) / rel).touch()  # only the names are read
    >>> [(r.actor, r.emotion, r.intensity, r.sex) for r in list_ravdess(tmp.name)]
    [('01', 'angry', 'strong', 'male'), ('02', 'calm', 'normal', 'female')]
    >>> tmp.cleanup()
    """
    if not os.path.isdir(root):
        raise FileNotFoundError("RAVDESS folder %s not found: check --ravdess_folder" % root)
    actor_dirs = sorted(d for d in os.listdir(root) if _ACTOR_DIR_RE.match(d))
    if not actor_dirs:
        raise FileNotFoundError(
            "no Actor_XX folder in %s: point --ravdess_folder at the folder holding "
            "Actor_01 ... Actor_24 (Audio_Speech_Actors_01-24.zip extracted)" % root
        )
    records = []
    skipped = collections.Counter()
    for d in actor_dirs:
        folder = os.path.join(root, d)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not name.lower().endswith(".wav"):
                continue
            rec = parse_ravdess_name(os.path.join(folder, name))
            if rec.modality != "03":
                skipped["modality %s (%s)" % (rec.modality, RAVDESS_MODALITIES[rec.modality])] += 1
                continue
            if rec.channel != "speech":
                skipped["song"] += 1
                continue
            if rec.actor != _ACTOR_DIR_RE.match(d).group(1):
                logger.warning("%s: actor %s of the file name differs from its folder", rec.path, rec.actor)
            records.append(rec)
    if skipped:
        logger.info(
            "RAVDESS: skipped %s (only audio-only speech is used)",
            ", ".join("%d %s file(s)" % (n, k) for k, n in sorted(skipped.items())),
        )
    return records


def main(argv=None):
    """``python data_prep/ravdess.py ROOT``: print the speech file and actor counts, then files per emotion.

    Returns the exit status (2 with a usage line unless exactly one argument is given).
    """
    return corpus_summary_main(
        argv, "usage: python data_prep/ravdess.py RAVDESS_ROOT", list_ravdess, "speech files",
        lambda emotion: "%-10s" % emotion,
    )


if __name__ == "__main__":
    sys.exit(main())
