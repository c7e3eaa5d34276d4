"""Reading waveforms with errors that name the file and say what to do."""

import os

import numpy as np
import soundfile as sf
import torch


class AudioError(ValueError):
    """A waveform that cannot be used as it is; the message names the file."""


def wav_shortfall(path):
    """Bytes of samples a WAV file's header declares but the file does not hold (0 if whole or not a WAV).

    libsndfile reads a truncated WAV without complaint (it counts the frames
    the file holds), so a copy cut short would train as a shorter clip.
    Headers that declare no size (0 or 0xFFFFFFFF, written by streaming
    recorders) are taken as whole.

    Example
    -------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> sf.write(path, np.zeros(1000, dtype="float32"), 16000, subtype="PCM_16")
    >>> wav_shortfall(path)
    0
    >>> data = open(path, "rb").read()
    >>> _ = open(path, "wb").write(data[:-500])
    >>> wav_shortfall(path)
    500
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if f.read(4) != b"RIFF":
            return 0
        f.seek(12)
        while True:
            header = f.read(8)
            if len(header) < 8:
                return 0
            chunk, length = header[:4], int.from_bytes(header[4:], "little")
            if chunk == b"data":
                if length in (0, 0xFFFFFFFF):
                    return 0
                return max(0, length - (size - f.tell()))
            f.seek(length + (length & 1), 1)  # chunks are padded to even sizes


def read_waveform(path, sample_rate, resample=False):
    """Reads a mono float32 waveform at ``sample_rate``.

    Arguments
    ---------
    path : str
        Audio file (anything libsndfile reads).
    sample_rate : int
        The rate the models expect.
    resample : bool
        If False, a file at another rate is an error (it is a sign of a wrong
        corpus or manifest); if True it is resampled.

    Returns
    -------
    torch.Tensor
        Shape ``(samples,)``; multi-channel files are averaged to mono.

    Example
    -------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> sf.write(path, np.zeros(800, dtype="float32"), 8000)
    >>> read_waveform(path, 16000, resample=True).shape
    torch.Size([1600])
    >>> read_waveform(path, 16000)
    Traceback (most recent call last):
    ...
    amls_speech.audio.AudioError: ...a.wav: sample rate is 8000 Hz, expected 16000 Hz; resample the corpus or set `resample: True` in the hparams file
    """
    if not os.path.isfile(path):
        raise AudioError(
            "%s: file not found; the manifest points at a file that is not "
            "there: re-run the data preparation or fix the data folder" % path
        )
    try:
        wav, sr = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(
            "%s: cannot be decoded (%s); the file is corrupt: delete it "
            "or re-download the corpus, then re-run the data preparation" % (path, err)
        ) from None
    missing = wav_shortfall(path)
    if missing:
        raise AudioError(
            "%s: the file is truncated (its header declares %d more bytes of samples than it "
            "holds); copy or generate it again, or remove it from the manifest" % (path, missing)
        )
    if wav.shape[0] == 0:
        raise AudioError(
            "%s: the file holds no samples; delete it and re-run the data "
            "preparation" % path
        )
    wav = torch.from_numpy(np.ascontiguousarray(wav.mean(axis=1)))
    if sr != sample_rate:
        if not resample:
            raise AudioError(
                "%s: sample rate is %d Hz, expected %d Hz; resample the corpus "
                "or set `resample: True` in the hparams file" % (path, sr, sample_rate)
            )
        import torchaudio.functional as AF

        wav = AF.resample(wav, sr, sample_rate)
    return wav


def fix_length(wav, n_samples):
    """Centre-crops or zero-pads a 1-D waveform to ``n_samples``.

    Example
    -------
    >>> fix_length(torch.ones(3), 5)
    tensor([0., 1., 1., 1., 0.])
    >>> fix_length(torch.arange(6.0), 2)
    tensor([2., 3.])
    """
    n = wav.shape[0]
    if n >= n_samples:
        start = (n - n_samples) // 2
        return wav[start : start + n_samples]
    left = (n_samples - n) // 2
    return torch.nn.functional.pad(wav, (left, n_samples - n - left))
