"""Helpers shared by the test modules (``from helpers import ...``: pytest puts tests/ on sys.path)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def run_script(script, *args):
    """Run ``script`` (relative to the repository) as a file, as a user would.

    The repository is the working folder and ``PYTHONPATH`` is unset, so the
    script must make its own imports work. Returns the completed process
    (text output captured).
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, str(REPO / script), *map(str, args)],
        cwd=str(REPO),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def median_f0(wav, sr, fmin=60.0, fmax=400.0, require_voiced=True):
    """Median F0 (Hz) of the loud frames, by autocorrelation.

    Without a voiced frame: an assertion error, or NaN if not
    ``require_voiced``.
    """
    frame, hop = int(0.04 * sr), int(0.01 * sr)
    lo, hi = int(sr / fmax), int(sr / fmin)
    peak = np.abs(wav).max()
    f0 = []
    for start in range(0, len(wav) - frame, hop):
        x = wav[start: start + frame].astype(np.float64)
        if np.sqrt(np.mean(x ** 2)) < 0.15 * peak:
            continue
        x = x - x.mean()
        ac = np.correlate(x, x, "full")[frame - 1:]
        if ac[0] <= 0:
            continue
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] / ac[0] > 0.3:
            f0.append(sr / lag)
    assert f0 or not require_voiced, "no voiced frame found"
    return float(np.median(f0)) if f0 else float("nan")


def expected_from_records(summary):
    """Confusion matrix and score recomputed from a run's per-sample test records."""
    rec, classes = summary["records"], summary["classes"]
    unk, thr = len(classes), summary["threshold"]
    preds = [unk if thr is not None and s < np.float32(thr) else p
             for s, p in zip(rec["score"], rec["closed_prediction"])]
    conf = np.zeros((unk + 1, unk + 1), dtype=int)
    np.add.at(conf, (rec["truth"], preds), 1)
    rows = [classes.index(c) for c in summary["shared_classes"]] + [unk]
    return conf, float(np.mean([conf[i, i] / conf[i].sum() for i in rows if conf[i].sum() > 0]))
