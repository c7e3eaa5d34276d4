"""How the generators of the synthetic corpora write a corpus folder.

The generators (``synth_keywords.py``, ``synth_microphones.py``,
``synth_emotion.py``) share these decisions:

* **Stamp.** A JSON file named by the generator (``synth_keywords.json``
  ...) holds ``{"arguments": ..., ...}`` and is written last. A folder whose
  stamp holds the same arguments is the finished corpus: asking for it again
  does nothing. A stamp with other arguments, or a non-empty folder without
  a stamp, is a :class:`FileExistsError` (never overwritten); an empty
  folder is filled.
* **Atomic build.** The corpus is written into a temporary folder next to
  ``out`` (``.<name>.partial-*``) and renamed into place at the end, so an
  interrupted run leaves nothing that looks complete, and nothing at all.
* **Wav files** are 16-bit PCM, encoded in memory then written in one go
  (libsndfile fsyncs the real files it closes, which is slow).
* **Workers.** Jobs run in a process pool (forked, so that what the parent
  prepared is shared); every file depends only on its own job, so the
  output does not depend on the number of workers.

Example
-------
>>> import tempfile
>>> out = Path(tempfile.mkdtemp()) / "corpus"
>>> def fill(tmp):
...     (tmp / "a.txt").write_text("a")
...     return {"arguments": {"seed": 1}}
>>> build_corpus(out, {"seed": 1}, "stamp.json", "toy corpus", fill)["arguments"]
{'seed': 1}
>>> sorted(p.name for p in out.iterdir())
['a.txt', 'stamp.json']
>>> build_corpus(out, {"seed": 1}, "stamp.json", "toy corpus", fill) is None  # already there
True
"""

import io
import json
import logging
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

import soundfile as sf

logger = logging.getLogger(__name__)


def read_stamp(out, stamp_name):
    """The ``arguments`` recorded in the stamp of ``out``; ``None`` without a stamp.

    Example
    -------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> read_stamp(d, "stamp.json") is None
    True
    >>> _ = (d / "stamp.json").write_text('{"arguments": {"seed": 1}, "note": "x"}')
    >>> read_stamp(d, "stamp.json")
    {'seed': 1}
    """
    path = Path(out) / stamp_name
    if not path.is_file():
        return None
    with open(path, "r", encoding="utf-8") as f:
        return json.load(f).get("arguments")


def check_existing(out, arguments, stamp_name, what, show_diff=False):
    """True if ``out`` holds this very corpus; raises if it holds another.

    Arguments
    ---------
    out : Path
        The corpus folder.
    arguments : dict
        The arguments the corpus is asked for.
    stamp_name : str
        File name of the stamp.
    what : str
        What the corpus is, for the messages (``"synthetic keyword corpus"``).
    show_diff : bool
        On other arguments, name only the differing ones (for long arguments)
        rather than both whole sets.

    Returns
    -------
    bool
        True: ``out`` is finished with ``arguments``. False: ``out`` does not
        exist or is an empty folder, to be filled.

    Raises
    ------
    FileExistsError
        ``out`` holds a corpus made with other arguments, or something else.

    Example
    -------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> check_existing(d / "new", {"seed": 1}, "s.json", "toy corpus")
    False
    >>> check_existing(d, {"seed": 1}, "s.json", "toy corpus")  # an empty folder: fill it
    False
    >>> _ = (d / "s.json").write_text('{"arguments": {"seed": 1, "n": 2}}')
    >>> check_existing(d, {"seed": 1, "n": 2}, "s.json", "toy corpus")
    True
    >>> check_existing(d, {"seed": 2, "n": 2}, "s.json", "toy corpus", show_diff=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileExistsError: ... already holds a toy corpus made with other arguments (differing: ['seed']; stored {'seed': 1}, asked for {'seed': 2}): use another --out or delete it
    """
    if not out.exists():
        return False
    stamp = read_stamp(out, stamp_name)
    if stamp == arguments:
        return True
    if stamp is not None:
        if show_diff:
            diff = sorted(k for k in set(stamp) | set(arguments) if stamp.get(k) != arguments.get(k))
            detail = "differing: %s; stored %s, asked for %s" % (
                diff, {k: stamp.get(k) for k in diff}, {k: arguments.get(k) for k in diff})
        else:
            detail = "%s; asked for %s" % (stamp, arguments)
        raise FileExistsError(
            "%s already holds a %s made with other arguments (%s): "
            "use another --out or delete it" % (out, what, detail)
        )
    if out.is_dir() and not any(out.iterdir()):
        return False  # an empty folder: fill it
    raise FileExistsError(
        "%s exists but is not a finished %s (no %s): "
        "use another --out or delete it" % (out, what, stamp_name)
    )


def build_corpus(out, arguments, stamp_name, what, fill, show_diff=False, sync=False):
    """Build the corpus ``out`` atomically, unless it is already there.

    Arguments
    ---------
    out : Path
        The corpus folder (see :func:`check_existing` for what may be there).
    arguments : dict
        The generator's arguments; the stamp must record them.
    stamp_name, what, show_diff
        As in :func:`check_existing`.
    fill : callable
        ``fill(tmp)`` writes the corpus into the temporary folder ``tmp``
        (a :class:`~pathlib.Path`) and returns the stamp, a JSON-serialisable
        dict holding ``"arguments": arguments``.
    sync : bool
        Flush every file system (``os.sync``) before the rename, so that the
        data reaches the disk before the corpus looks complete.

    Returns
    -------
    dict or None
        The stamp written; ``None`` when nothing was done (``out`` already
        held the corpus, or another process finished it meanwhile).

    Example
    -------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> def broken(tmp):
    ...     (tmp / "half.txt").write_text("x")
    ...     raise RuntimeError("interrupted")
    >>> build_corpus(d / "c", {}, "s.json", "toy corpus", broken)
    Traceback (most recent call last):
    ...
    RuntimeError: interrupted
    >>> list(d.iterdir())  # no corpus, no temporary folder
    []
    """
    if check_existing(out, arguments, stamp_name, what, show_diff):
        logger.info("%s already holds this %s: nothing to do", out, what)
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".%s.partial-" % out.name, dir=str(out.parent)))
    try:
        stamp = fill(tmp)
        with open(tmp / stamp_name, "w", encoding="utf-8", newline="\n") as f:
            json.dump(stamp, f, indent=1, sort_keys=True)
            f.write("\n")
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
        if sync and hasattr(os, "sync"):
            os.sync()
        if out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        try:
            os.rename(tmp, out)
        except OSError:
            # Another process may have finished the same corpus meanwhile.
            if check_existing(out, arguments, stamp_name, what, show_diff):
                shutil.rmtree(tmp, ignore_errors=True)
                return None
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return stamp


def write_wav(path, samples, sample_rate):
    """Write mono 16-bit PCM wav, encoded in memory (libsndfile fsyncs real files).

    Example
    -------
    >>> import tempfile, numpy as np
    >>> p = Path(tempfile.mkdtemp()) / "a.wav"
    >>> write_wav(p, np.zeros(800, dtype=np.float32), 16000)
    >>> sf.info(str(p)).subtype, sf.info(str(p)).frames
    ('PCM_16', 800)
    """
    buf = io.BytesIO()
    sf.write(buf, samples, sample_rate, subtype="PCM_16", format="WAV")
    with open(path, "wb") as f:
        f.write(buf.getbuffer())


def run_jobs(fn, jobs, workers, chunksize):
    """Call ``fn(job)`` for every job, in ``workers`` forked processes (in any order).

    The pool is not used for one worker or one job; there are never more
    workers than jobs or CPUs.

    Example
    -------
    >>> done = []
    >>> run_jobs(done.append, [1, 2], workers=1, chunksize=8)
    >>> done
    [1, 2]
    """
    workers = max(1, min(int(workers), len(jobs), os.cpu_count() or 1))
    if workers == 1:
        for job in jobs:
            fn(job)
    else:
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
        with ctx.Pool(workers) as pool:
            for _ in pool.imap_unordered(fn, jobs, chunksize=chunksize):
                pass
