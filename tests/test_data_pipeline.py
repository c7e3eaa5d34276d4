"""Audio reading, feature cache and manifests: bad input gets a clear error."""

import csv
import os
import time

import numpy as np
import pytest
import soundfile as sf
import torch

from amls_speech.audio import AudioError, fix_length, read_waveform
from amls_speech.data import (
    LabelEncoding,
    ManifestError,
    PairedBatch,
    PairedDataset,
    check_manifest,
    make_dataset,
)
from amls_speech.features import FeatureCache, FeaturePipeline, MFCCFeatures
from amls_speech.sampling import PairedSampler

COLUMNS = ["ID", "wav", "duration", "label", "class_number", "label_set", "domain", "speaker"]


def write_wav(path, n=16000, sr=16000, seed=0):
    rng = np.random.default_rng(seed)
    sf.write(path, (0.1 * rng.standard_normal(n)).astype("float32"), sr)
    return str(path)


def write_manifest(path, wavs, labels):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, COLUMNS)
        w.writeheader()
        for i, (wav, lab) in enumerate(zip(wavs, labels)):
            w.writerow({"ID": "u%d" % i, "wav": wav, "duration": 1.0, "label": lab,
                        "class_number": 1, "label_set": "shared", "domain": "d", "speaker": "s"})
    return str(path)


def test_read_waveform_errors_name_the_file(tmp_path):
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF....not really a wav")
    with pytest.raises(AudioError, match="corrupt.wav: cannot be decoded.*re-download"):
        read_waveform(str(corrupt), 16000)
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, dtype="float32"), 16000)
    with pytest.raises(AudioError, match="empty.wav: the file holds no samples"):
        read_waveform(str(empty), 16000)
    with pytest.raises(AudioError, match="missing.wav: file not found"):
        read_waveform(str(tmp_path / "missing.wav"), 16000)
    rate = write_wav(tmp_path / "rate.wav", n=8000, sr=8000)
    with pytest.raises(AudioError, match="rate.wav: sample rate is 8000 Hz, expected 16000 Hz"):
        read_waveform(rate, 16000)
    assert read_waveform(rate, 16000, resample=True).shape == (16000,)
    truncated = write_wav(tmp_path / "truncated.wav", n=16000)
    data = open(truncated, "rb").read()
    open(truncated, "wb").write(data[:-1000])
    with pytest.raises(AudioError, match="truncated.wav: the file is truncated .*1000 more bytes"):
        read_waveform(truncated, 16000)


def test_stereo_is_averaged_and_length_fixed(tmp_path):
    path = tmp_path / "st.wav"
    sf.write(path, np.stack([np.ones(100), -np.ones(100)], 1).astype("float32") * 0.5, 16000)
    wav = read_waveform(str(path), 16000)
    assert wav.shape == (100,) and float(wav.abs().max()) == 0.0
    assert fix_length(wav, 160).shape == (160,) and fix_length(wav, 10).shape == (10,)


def test_feature_cache_hits_and_invalidates(tmp_path):
    wav = write_wav(tmp_path / "a.wav")
    pipe = FeaturePipeline(MFCCFeatures(), seconds=1.0, cache_folder=str(tmp_path / "cache"))
    calls = []
    original = pipe.compute
    pipe.compute = lambda p: calls.append(p) or original(p)
    first = pipe(wav)
    second = pipe(wav)
    assert len(calls) == 1 and torch.equal(first, second)
    time.sleep(0.01)
    write_wav(tmp_path / "a.wav", seed=1)  # the audio changed: recompute
    third = pipe(wav)
    assert len(calls) == 2 and not torch.equal(first, third)
    # other settings live in another folder of the cache
    other = FeatureCache(str(tmp_path / "cache"), {"n_mfcc": 13})
    assert other.folder != pipe.cache.folder


def test_manifest_checks(tmp_path):
    wav = write_wav(tmp_path / "a.wav")
    good = write_manifest(tmp_path / "good.csv", [wav], ["yes"])
    assert len(check_manifest(good)) == 1
    missing = write_manifest(tmp_path / "missing.csv", [wav, str(tmp_path / "gone.wav")], ["yes", "no"])
    with pytest.raises(ManifestError, match="missing.csv lists 1 audio file.*gone.wav.*re-run the data preparation"):
        check_manifest(missing)
    empty = write_manifest(tmp_path / "empty.csv", [], [])
    with pytest.raises(ManifestError, match="empty.csv has no rows"):
        check_manifest(empty)
    with pytest.raises(ManifestError, match="manifest not found"):
        check_manifest(str(tmp_path / "nope.csv"))


def test_target_adaptation_set_hides_labels(tmp_path):
    wavs = [write_wav(tmp_path / ("%d.wav" % i), seed=i) for i in range(3)]
    manifest = write_manifest(tmp_path / "m.csv", wavs, ["yes", "no", "wow"])
    feats = FeaturePipeline(MFCCFeatures(), seconds=1.0)
    enc = LabelEncoding(["no", "yes"])
    labelled = make_dataset(manifest, feats, enc)
    hidden = make_dataset(manifest, feats, None)
    assert [int(labelled[i]["label_id"]) for i in range(3)] == [1, 0, 2]  # wow -> unknown
    assert "label_id" not in hidden[0]
    pairs = PairedDataset(labelled, hidden, seed=0)
    batch = PairedBatch.collate([pairs[(0, 0)], pairs[(1, 2)]])
    assert batch.source.feats.data.shape == (2, 101, 40)
    assert not hasattr(batch.target, "label_id")
    with pytest.raises(ManifestError):
        PairedDataset(labelled, [])


def test_paired_sampler_reshuffles_the_smaller_domain_every_pass():
    sampler = PairedSampler(n_source=10, n_target=25, seed=3)
    sampler.set_epoch(1)
    pairs = list(sampler)
    assert len(pairs) == 25 and sorted(t for _, t in pairs) == list(range(25))
    source = [s for s, _ in pairs]
    for start in (0, 10):  # each pass of the source is a permutation of it
        assert sorted(source[start:start + 10]) == list(range(10))
    assert source[:10] != source[10:20]  # a fresh permutation, not a repeat
    assert max(source.count(i) for i in range(10)) - min(source.count(i) for i in range(10)) <= 1
    sampler.set_epoch(2)
    assert list(sampler) != pairs  # another epoch, other pairs
    sampler.set_epoch(1)
    assert list(sampler) == pairs  # same (seed, epoch), same pairs: repeatable and resumable


def test_class_balanced_sampler_draws_every_class_equally():
    labels = ["a"] * 90 + ["b"] * 9 + ["c"] * 1
    sampler = PairedSampler(100, 300, seed=0, balance="class", source_labels=labels)
    drawn = [labels[s] for s, _ in sampler]
    assert [drawn.count(c) for c in "abc"] == [100, 100, 100]
    plain = [labels[s] for s, _ in PairedSampler(100, 300, seed=0)]
    assert [plain.count(c) for c in "abc"] == [270, 27, 3]  # three plain passes of the source
    with pytest.raises(ValueError, match="one source label per source example"):
        PairedSampler(100, 300, balance="class")


def test_a_manifest_whose_label_sets_disagree_with_the_partition_is_refused(tiny_keywords, tmp_path):
    from pathlib import Path

    from amls_speech.data import ManifestError
    from amls_speech.recipe import build, load_hparams, manifest_path

    hparams_file = Path(__file__).resolve().parents[1] / "recipes" / "gender" / "hparams" / "source_only.yaml"
    over = {"data_folder": str(tiny_keywords), "results_root": str(tmp_path), "source_valid_ratio": 0.25}
    hp = load_hparams(hparams_file, over)
    build(hp, {"device": "cpu"})  # prepares; the manifests are consistent
    path = manifest_path(hp, "target_test")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    fields = list(rows[0])
    shared_row = next(i for i, r in enumerate(rows) if r["label_set"] == "shared")
    for edit, message in (({"label_set": "source_private"}, "the partition says 'shared'"),
                          ({"label_set": "target_private"}, "the partition says 'shared'"),
                          ({"label": "banana"}, "outside the hparams' label space")):
        broken = [dict(r) for r in rows]
        broken[shared_row].update(edit)
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(broken)
        # the preparation stamp still matches its arguments: the edited file is what a run reads
        with pytest.raises(ManifestError, match="target_test.csv: label .*" + message.replace("'", ".")):
            build(load_hparams(hparams_file, over), {"device": "cpu"})
