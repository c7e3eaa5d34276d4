"""MFCC features as a dynamic item, with an optional on-disk cache.

The models take 40 MFCCs per 10 ms frame (the AMLS paper, section 4). Feature
extraction runs in the data pipeline (CPU, in the DataLoader workers) so that a
cached feature is never recomputed; normalisation runs in the Brain, because
global statistics are a model parameter that must be checkpointed.
"""

import hashlib
import json
import os
import tempfile

import torch
from speechbrain.lobes.features import MFCC

from amls_speech.audio import fix_length, read_waveform


class MFCCFeatures(torch.nn.Module):
    """Static MFCCs (no deltas, no context) from a waveform.

    Arguments
    ---------
    sample_rate : int
        Sample rate of the input waveform.
    n_mfcc : int
        Number of cepstral coefficients kept.
    n_mels : int
        Number of mel filters.
    win_length, hop_length : float
        Frame length and shift in milliseconds.
    n_fft : int
        FFT size.

    Example
    -------
    >>> feats = MFCCFeatures()(torch.randn(16000))
    >>> feats.shape
    torch.Size([101, 40])
    >>> MFCCFeatures()(torch.randn(2, 16000)).shape
    torch.Size([2, 101, 40])
    """

    def __init__(
        self, sample_rate=16000, n_mfcc=40, n_mels=40, win_length=25, hop_length=10, n_fft=400
    ):
        super().__init__()
        self.config = dict(
            sample_rate=sample_rate,
            n_mfcc=n_mfcc,
            n_mels=n_mels,
            win_length=win_length,
            hop_length=hop_length,
            n_fft=n_fft,
        )
        self.mfcc = MFCC(deltas=False, context=False, **self.config)

    @torch.no_grad()
    def forward(self, wav):
        """Returns ``(frames, n_mfcc)`` for a 1-D input, ``(batch, frames, n_mfcc)`` for 2-D."""
        if wav.dim() == 1:
            return self.mfcc(wav.unsqueeze(0))[0]
        return self.mfcc(wav)


class FeatureCache:
    """Stores one feature tensor per audio file on disk, keyed by path and settings.

    The key hashes the audio path, its size and modification time, and the
    feature settings, so that changing either recomputes the feature instead
    of serving a stale one. Files are written atomically, which makes the cache
    safe to share between DataLoader workers and DDP processes.

    Arguments
    ---------
    folder : str
        Where the cache lives.
    settings : dict
        Everything the feature depends on (JSON-serialisable).

    Example
    -------
    >>> import tempfile
    >>> cache = FeatureCache(tempfile.mkdtemp(), {"n_mfcc": 40})
    >>> calls = []
    >>> compute = lambda: calls.append(1) or torch.ones(2)
    >>> cache.get(__file__, compute), cache.get(__file__, compute)
    (tensor([1., 1.]), tensor([1., 1.]))
    >>> len(calls)
    1
    """

    def __init__(self, folder, settings):
        tag = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
        self.folder = os.path.join(folder, tag)
        os.makedirs(self.folder, exist_ok=True)

    def _path(self, audio_path):
        st = os.stat(audio_path)
        key = "%s|%d|%d" % (os.path.abspath(audio_path), st.st_size, st.st_mtime_ns)
        return os.path.join(self.folder, hashlib.sha1(key.encode()).hexdigest() + ".pt")

    def get(self, audio_path, compute):
        """Returns the cached tensor for ``audio_path``, computing it if needed."""
        try:
            path = self._path(audio_path)
        except FileNotFoundError:
            return compute()  # let the reader raise its clear error
        if os.path.exists(path):
            return torch.load(path)
        feats = compute()
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        os.close(fd)
        try:
            torch.save(feats, tmp)
            os.replace(tmp, path)  # only a whole file ever has the cache's name
        except BaseException:
            os.remove(tmp)
            raise
        return feats


class FeaturePipeline:
    """Waveform file -> fixed-length waveform -> MFCC, optionally cached.

    Arguments
    ---------
    extractor : MFCCFeatures
        The feature computation.
    seconds : float
        Every clip is centre-cropped or zero-padded to this length, so that
        batches need no padding (keywords: 1 s; emotion: 3 s).
    resample : bool
        Resample files at another rate instead of raising an error.
    cache_folder : str or None
        If given, features are stored there and read back on later epochs.

    Example
    -------
    >>> import tempfile, os, numpy as np, soundfile as sf
    >>> path = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> sf.write(path, np.random.randn(12000).astype("float32") * 0.1, 16000)
    >>> pipe = FeaturePipeline(MFCCFeatures(), seconds=1.0, cache_folder=tempfile.mkdtemp())
    >>> pipe(path).shape
    torch.Size([101, 40])
    """

    def __init__(self, extractor, seconds=1.0, resample=False, cache_folder=None):
        self.extractor = extractor
        self.sample_rate = extractor.config["sample_rate"]
        self.n_samples = int(round(seconds * self.sample_rate))
        self.resample = resample
        settings = dict(extractor.config, seconds=seconds, resample=resample)
        self.cache = FeatureCache(cache_folder, settings) if cache_folder else None

    def compute(self, path):
        """Features of one file, never cached."""
        return self.from_waveform(read_waveform(path, self.sample_rate, self.resample))

    def from_waveform(self, wav):
        """Features of a 1-D waveform at ``sample_rate`` (cropped or padded as the files are)."""
        return self.extractor(fix_length(wav, self.n_samples))

    def __call__(self, path):
        if self.cache is None:
            return self.compute(path)
        return self.cache.get(path, lambda: self.compute(path))
