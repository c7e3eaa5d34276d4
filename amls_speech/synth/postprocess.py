"""Post-processing of synthesised speech, shared by the corpus generators.

eSpeak NG speaks at 22050 Hz and leaves silence around what it says; the
generators cut that silence (:func:`trim_silence`) and bring the speech to
the corpus' rate (:func:`resample`) before anything else.

Example
-------
>>> import numpy as np
>>> wav = np.concatenate([np.zeros(2205), np.ones(2205), np.zeros(2205)])
>>> speech = trim_silence(wav, 22050, margin=0.01)
>>> len(speech), len(resample(speech, 22050, 16000))
(2645, 1920)
"""

import math
from functools import lru_cache

import numpy as np
from scipy.signal import firwin, resample_poly


def trim_silence(wav, sample_rate, margin=0.01, rel_threshold=0.02):
    """Cut the silence before and after the speech, keeping ``margin`` seconds.

    Arguments
    ---------
    wav : numpy.ndarray
        Mono audio.
    sample_rate : int
        Its rate.
    margin : float
        Seconds kept on each side of the first and last loud sample.
    rel_threshold : float
        A sample is loud above this fraction of the peak.

    Returns
    -------
    numpy.ndarray
        A slice of ``wav`` (``wav`` itself when it is silent or empty).

    Example
    -------
    >>> trim_silence(np.array([0.0, 0.0, 0.5, -1.0, 0.0, 0.0]), 100, margin=0.01)
    array([ 0. ,  0.5, -1. ,  0. ])
    """
    env = np.abs(wav)
    if env.size == 0 or env.max() <= 0:
        return wav
    idx = np.flatnonzero(env > rel_threshold * env.max())
    pad = int(margin * sample_rate)
    return wav[max(idx[0] - pad, 0): idx[-1] + pad + 1]


@lru_cache(maxsize=8)
def _resampling_filter(up, down):
    """The anti-aliasing FIR filter ``resample_poly`` designs by default (cached)."""
    max_rate = max(up, down)
    return firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0))


def resample(wav, from_rate, to_rate):
    """Resample with ``resample_poly`` and its default filter, designed once per ratio.

    Arguments
    ---------
    wav : array_like
        Mono audio.
    from_rate, to_rate : int
        Its rate, and the rate wanted.

    Returns
    -------
    numpy.ndarray
        float64 audio at ``to_rate``.

    Example
    -------
    >>> x = np.sin(np.arange(2205) / 10.0)
    >>> resample(x, 22050, 16000).shape, resample(x, 16000, 16000).dtype
    ((1600,), dtype('float64'))
    """
    g = math.gcd(int(from_rate), int(to_rate))
    up, down = int(to_rate) // g, int(from_rate) // g
    if up == down:
        return np.asarray(wav, dtype=np.float64)
    return resample_poly(np.asarray(wav, dtype=np.float64), up, down,
                         window=_resampling_filter(up, down))
