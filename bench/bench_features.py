"""MFCC speed: our pipeline (SpeechBrain MFCC) vs librosa, and the on-disk feature cache.

    .venv/bin/python bench/bench_features.py [--n 200] [--repeats 5] [--corpus DIR]

Every method runs over the same N one-second 16 kHz clips; the methods are
interleaved within each repetition (the order rotates between repetitions) so
that a loaded machine slows them alike, and the table gives the median over
repetitions of the per-clip time. Only the ratios are meant to carry over to
another machine.

Rows
----
ours: MFCCFeatures            ``MFCCFeatures()(wav)`` on one in-memory clip (SpeechBrain
                              MFCC, 40 coefficients, 40 mels, 25 ms / 10 ms, n_fft 400)
ours: MFCCFeatures, batch     the same module on all N clips as one ``(N, 16000)`` batch
librosa.feature.mfcc          n_mfcc=40, n_mels=40, n_fft=400, hop 160, win 400 (Hamming,
                              as SpeechBrain); same frame count, not the same numbers
ours / librosa, N threads     the two single-clip rows again (on the first --n_multi clips)
                              with all cores allowed to torch (OpenMP) and numpy (OpenBLAS)
                              instead of --threads; run last in each repetition
read_waveform only            decoding the wav file (soundfile), no features
pipeline, no cache            ``FeaturePipeline.compute``: read + fix_length + MFCC
pipeline, cold cache          ``FeaturePipeline.__call__`` on an empty cache: compute + save
pipeline, warm cache          ``FeaturePipeline.__call__`` on a full cache: stat + torch.load

librosa's first call (lazy imports, numba compilation, FFT plans) is timed
apart and kept out of the table, as is its import.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np
import soundfile as sf
import torch

from amls_speech.audio import fix_length, read_waveform
from amls_speech.features import FeaturePipeline, MFCCFeatures

SR = 16000


def generated_clips(n, seed=0):
    """``n`` one-second clips: noise plus a few tones with a random envelope."""
    rng = np.random.default_rng(seed)
    t = np.arange(SR) / SR
    clips = []
    for _ in range(n):
        wav = 0.05 * rng.standard_normal(SR)
        for f in rng.uniform(100, 4000, size=3):
            wav += rng.uniform(0.05, 0.3) * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3))
        onset, length = rng.integers(0, SR // 2), rng.integers(SR // 4, SR // 2)
        env = np.zeros(SR)
        env[onset : onset + length] = np.hanning(length)[: SR - onset]
        clips.append((wav * (0.2 + env)).astype(np.float32) / 2.0)
    return clips


def corpus_files(folder, n):
    """The first ``n`` wav files (sorted) of a Speech Commands style corpus."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("_"))  # skips _background_noise_
        found += [os.path.join(root, f) for f in sorted(files) if f.endswith(".wav")]
    if len(found) < n:
        sys.exit("%s holds %d wav files, fewer than --n %d" % (folder, len(found), n))
    return found[:n]


def librosa_mfcc(librosa, wav):
    """librosa's ``(40, frames)`` MFCCs of ``wav``, our settings (``librosa``: the module, imported late)."""
    return librosa.feature.mfcc(
        y=wav, sr=SR, n_mfcc=40, n_mels=40, n_fft=400, hop_length=160, win_length=400,
        window="hamming",
    )


def set_threads(n):
    """Caps torch's intra-op threads and, through threadpoolctl, OpenBLAS/OpenMP (numpy, librosa)."""
    torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # only torch is capped then
        return
    threadpool_limits(n)


def main(argv=None):
    """Command line (see the module docstring): set the threads, then :func:`run` in a temporary folder."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=200, help="clips per pass (default 200)")
    p.add_argument("--n_multi", type=int, default=20,
                   help="clips per pass for the all-cores rows, which can be slow on a loaded machine")
    p.add_argument("--repeats", type=int, default=5, help="interleaved repetitions (default 5)")
    p.add_argument("--corpus", help="read the clips from this corpus (Speech Commands layout) "
                   "instead of generating them")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1, as in a DataLoader worker; librosa/numpy use one)")
    args = p.parse_args(argv)
    set_threads(args.threads)

    work = tempfile.mkdtemp(prefix="bench_features_")
    try:
        return run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args, work):
    """Prints the tables; returns the medians (ms per clip) and the ratios."""
    # ------------------------------------------------------------ the clips
    if args.corpus:
        paths = corpus_files(args.corpus, args.n)
        source = "%d files of %s" % (len(paths), args.corpus)
    else:
        paths = []
        for i, wav in enumerate(generated_clips(args.n)):
            paths.append(os.path.join(work, "clip%04d.wav" % i))
            sf.write(paths[-1], wav, SR, subtype="PCM_16")  # as Speech Commands
        source = "%d generated clips (noise + tones), written as 16-bit wav" % len(paths)
    extractor = MFCCFeatures()
    pipe = FeaturePipeline(extractor, seconds=1.0)
    # The in-memory methods see exactly what the pipeline feeds the extractor.
    wavs_t = [fix_length(read_waveform(path, SR), pipe.n_samples) for path in paths]
    wavs_np = [w.numpy() for w in wavs_t]
    batch = torch.stack(wavs_t)

    # ------------------------------------------------------------- librosa warm-up
    import librosa  # lazy: the real imports happen on the first call

    t0 = time.perf_counter()
    first = librosa_mfcc(librosa, wavs_np[0])
    first_call_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    librosa_mfcc(librosa, wavs_np[1 % len(wavs_np)])
    second_call_s = time.perf_counter() - t0
    ours = extractor(wavs_t[0])
    assert ours.shape == first.T.shape, (ours.shape, first.shape)
    extractor(batch[:2])  # warm up torch too

    # ------------------------------------------------------------- methods
    # Each method processes a list of clips and returns how many it processed.
    def ours_single(clips=wavs_t):
        """Our extractor, one clip per call."""
        for w in clips:
            extractor(w)
        return len(clips)

    def ours_batch():
        """Our extractor on all the clips as one batch."""
        extractor(batch)
        return len(batch)

    def with_librosa(clips=wavs_np):
        """librosa, one clip per call."""
        for w in clips:
            librosa_mfcc(librosa, w)
        return len(clips)

    def read_only():
        """Decode every wav file, no features."""
        for path in paths:
            read_waveform(path, SR)
        return len(paths)

    def no_cache():
        """The pipeline without cache: read, fix length, MFCC."""
        for path in paths:
            pipe.compute(path)
        return len(paths)

    cached = {}

    def cold_cache():
        """The pipeline on a fresh, empty cache (compute and save), kept for ``warm_cache``."""
        folder = tempfile.mkdtemp(dir=work)  # a fresh, empty cache each repetition
        cached["pipe"] = FeaturePipeline(extractor, seconds=1.0, cache_folder=folder)
        for path in paths:
            cached["pipe"](path)
        return len(paths)

    def warm_cache():
        """The pipeline on the cache the last ``cold_cache`` filled (load only)."""
        for path in paths:
            cached["pipe"](path)
        return len(paths)

    def all_cores(fn, clips):
        """A method running ``fn`` on the first ``--n_multi`` of ``clips`` with every core allowed."""

        def run_all_cores():
            """``fn`` with ``cores`` threads; the ``--threads`` cap is restored afterwards."""
            set_threads(cores)
            try:
                return fn(clips[: args.n_multi])
            finally:
                set_threads(args.threads)

        return run_all_cores

    cores = os.cpu_count()
    methods = [
        ("ours: MFCCFeatures", ours_single),
        ("ours: MFCCFeatures, batch", ours_batch),
        ("librosa.feature.mfcc", with_librosa),
        ("read_waveform only", read_only),
        ("pipeline, no cache", no_cache),
        ("pipeline, cold cache", cold_cache),
        ("pipeline, warm cache", warm_cache),
    ]
    # Run last in each repetition, then a pause: idle OpenMP/OpenBLAS workers keep
    # spinning for a while after a multi-threaded call and would slow the next rows.
    multi = [
        ("ours: MFCCFeatures, %d threads" % cores, all_cores(ours_single, wavs_t)),
        ("librosa, %d threads" % cores, all_cores(with_librosa, wavs_np)),
    ]
    times = {name: [] for name, _ in methods + multi}
    for r in range(args.repeats):
        # rotate the order; cold must precede warm (it fills the cache warm reads)
        order = methods[r % len(methods):] + methods[: r % len(methods)]
        order = [m for m in order if m[0] != "pipeline, warm cache"]
        order.insert(order.index(methods[-2]) + 1, methods[-1])
        for name, fn in order + multi[r % 2:] + multi[: r % 2]:
            t0 = time.perf_counter()
            count = fn()
            times[name].append((time.perf_counter() - t0) / count * 1e3)
        time.sleep(0.5)

    med = {name: statistics.median(v) for name, v in times.items()}
    print("bench_features: %s; %d repetitions (interleaved), threads %d (torch + BLAS), torch %s, "
          "speechbrain %s, librosa %s"
          % (source, args.repeats, args.threads, torch.__version__, _sb_version(), librosa.__version__))
    print("librosa warm-up: first call %.0f ms (lazy imports + numba compilation), second call "
          "%.1f ms -- both excluded below" % (first_call_s * 1e3, second_call_s * 1e3))
    print()
    print("| %-30s | %12s | %10s | %10s |" % ("method", "ms per clip", "min", "max"))
    print("|%s|%s|%s|%s|" % ("-" * 32, "-" * 14, "-" * 12, "-" * 12))
    for name, _ in methods + multi:
        print("| %-30s | %12.3f | %10.3f | %10.3f |" % (name, med[name], min(times[name]), max(times[name])))
    print()
    ratios = [
        ("librosa / ours (one clip per call)", med["librosa.feature.mfcc"], med["ours: MFCCFeatures"]),
        ("ours %d threads / ours %d" % (cores, args.threads),
         med["ours: MFCCFeatures, %d threads" % cores], med["ours: MFCCFeatures"]),
        ("librosa %d threads / librosa %d" % (cores, args.threads),
         med["librosa, %d threads" % cores], med["librosa.feature.mfcc"]),
        ("ours one clip / ours batched", med["ours: MFCCFeatures"], med["ours: MFCCFeatures, batch"]),
        ("no cache / warm cache", med["pipeline, no cache"], med["pipeline, warm cache"]),
        ("cold cache / no cache (cost of writing)", med["pipeline, cold cache"], med["pipeline, no cache"]),
        ("read share of no-cache pipeline", med["read_waveform only"], med["pipeline, no cache"]),
    ]
    print("| %-42s | %7s |" % ("ratio (medians)", "x"))
    print("|%s|%s|" % ("-" * 44, "-" * 9))
    for name, a, b in ratios:
        print("| %-42s | %7.2f |" % (name, a / b))
    return {"ms_per_clip": med, "ratios": {name: a / b for name, a, b in ratios}}


def _sb_version():
    import speechbrain

    return speechbrain.__version__


if __name__ == "__main__":
    main()
