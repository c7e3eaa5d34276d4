"""Tests of the importers of official digit files (data_prep.mnist_idx, svhn, syndigits, usps, mnistm).

Every test writes tiny files in the real format (a few images per digit) and
checks that pixels and digits round-trip exactly through the domain folder.
"""

import bz2
import gzip
import json
import os
import pickle
import struct

import numpy as np
import pytest
import scipy.io
from PIL import Image

from data_prep import mnist_idx, mnistm, svhn, syndigits, usps
from data_prep.common import read_manifest
from data_prep.digit_files import DigitFileError, stratified_valid_split
from data_prep.digits import write_domain

PER_CLASS = 3  # train images per digit; 1 test image per digit
FRACTION = 0.34  # -> 1 valid image per digit


def _images(n_per_class, shape, seed):
    rng = np.random.RandomState(seed)
    labels = np.repeat(np.arange(10), n_per_class)
    rng.shuffle(labels)
    return rng.randint(0, 256, (len(labels),) + shape).astype(np.uint8), labels


def _sets(shape):
    return {"train": _images(PER_CLASS, shape, 1), "test": _images(1, shape, 2)}


def _domain(out):
    """{split: sorted [(digit, pixel bytes)]} of a domain folder."""
    found = {}
    for split in ("train", "valid", "test"):
        items = []
        for digit_dir in sorted((out / split).iterdir()):
            for png in sorted(digit_dir.iterdir()):
                items.append((int(digit_dir.name), np.asarray(Image.open(png)).tobytes()))
        found[split] = sorted(items)
    return found


def _check_round_trip(out, sets, valid_in_train=True):
    """The domain holds exactly the images and digits of ``sets``; train/valid/test disjoint."""
    found = _domain(out)
    expected = {s: sorted((int(y), x.tobytes()) for x, y in zip(*sets[s])) for s in sets}
    assert found["test"] == expected["test"]
    if valid_in_train:  # valid split off the official train set: 1 image per digit
        assert sorted(found["train"] + found["valid"]) == expected["train"]
        assert sorted(d for d, _ in found["valid"]) == list(range(10))
    else:
        assert found["train"] == expected["train"] and found["valid"] == expected["valid"]
    pixels = {s: {b for _, b in found[s]} for s in found}
    assert not (pixels["train"] & pixels["valid"]) and not (pixels["train"] & pixels["test"])
    stamp = json.loads((out / "domain.json").read_text())
    assert stamp["counts"] == {s: len(found[s]) for s in found}
    return stamp


def _check_bad(fn, name, tmp_path, error=(DigitFileError, FileNotFoundError)):
    """``fn(out)`` fails with a message naming the file ``name`` and leaves no domain folder."""
    out = tmp_path / "data" / "bad"
    with pytest.raises(error) as info:
        fn(out)
    assert name in str(info.value), str(info.value)
    assert not out.exists()
    if out.parent.exists():  # no temporary folder left behind either
        assert [p.name for p in out.parent.iterdir() if p.name.startswith(".bad")] == []


# --- MNIST idx ---------------------------------------------------------------


def _write_idx(path, array, magic, gz=False):
    array = np.asarray(array, np.uint8)
    data = struct.pack(">%dI" % (array.ndim + 1), magic, *array.shape) + array.tobytes()
    with open(path, "wb") as f:
        f.write(gzip.compress(data) if gz else data)
    return path


def _write_mnist(folder, sets, gz=False):
    folder.mkdir(parents=True, exist_ok=True)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = sets[split]
        ext = ".gz" if gz else ""
        _write_idx(folder / ("%s-images-idx3-ubyte%s" % (prefix, ext)), images, 2051, gz)
        _write_idx(folder / ("%s-labels-idx1-ubyte%s" % (prefix, ext)), labels, 2049, gz)
    return folder


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_round_trip_and_idempotence(tmp_path, gz):
    sets = _sets((28, 28))
    raw = _write_mnist(tmp_path / "raw", sets, gz)
    out = tmp_path / "data" / "mnist"
    stamp = mnist_idx.import_mnist(raw, out, valid_fraction=FRACTION)
    assert stamp["counts"] == {"train": 20, "valid": 10, "test": 10}
    recorded = _check_round_trip(out, sets)
    args = recorded["arguments"]
    assert args["valid_fraction"] == FRACTION and args["seed"] == 1234 and args["format"] == "mnist_idx"
    path = str(raw / ("t10k-images-idx3-ubyte" + (".gz" if gz else "")))
    assert args["inputs"]["test_images"] == {"path": path, "bytes": os.path.getsize(path)}
    assert "MNIST" in recorded["description"]
    mtime = (out / "domain.json").stat().st_mtime_ns
    assert mnist_idx.import_mnist(raw, out, valid_fraction=FRACTION) is None  # no-op
    assert (out / "domain.json").stat().st_mtime_ns == mtime
    with pytest.raises(FileExistsError):  # other arguments: never overwritten
        mnist_idx.import_mnist(raw, out, valid_fraction=FRACTION, seed=7)


def test_stratified_valid_split_is_seeded():
    labels = np.repeat(np.arange(10), 50)
    a, b = stratified_valid_split(labels, 0.1, 3), stratified_valid_split(labels, 0.1, 3)
    assert (a[0] == b[0]).all() and (a[1] == b[1]).all()
    assert np.bincount(labels[a[1]]).tolist() == [5] * 10
    assert not set(a[0]) & set(a[1]) and len(a[0]) + len(a[1]) == 500
    assert not (stratified_valid_split(labels, 0.1, 4)[1] == a[1]).all()


def _corrupt_mnist(kind, raw):
    if kind == "missing":
        os.remove(raw / "t10k-labels-idx1-ubyte")
        return "t10k-labels-idx1-ubyte"
    if kind == "magic":  # a labels file in place of the images file
        os.replace(raw / "t10k-labels-idx1-ubyte", raw / "t10k-images-idx3-ubyte")
        _write_idx(raw / "t10k-labels-idx1-ubyte", np.arange(10), 2049)
        return "t10k-images-idx3-ubyte"
    if kind == "truncated":
        path = raw / "train-images-idx3-ubyte"
        path.write_bytes(path.read_bytes()[:-100])
        return "train-images-idx3-ubyte"
    if kind == "truncated_gz":
        path = raw / "train-images-idx3-ubyte"
        path.with_suffix(".gz").write_bytes(gzip.compress(path.read_bytes())[:-50])
        os.remove(path)
        return "train-images-idx3-ubyte.gz"
    if kind == "count":
        _write_idx(raw / "train-labels-idx1-ubyte", np.arange(10), 2049)
        return "train-labels-idx1-ubyte"
    if kind == "label":
        _write_idx(raw / "t10k-labels-idx1-ubyte", np.arange(1, 11), 2049)  # a label 10
        return "t10k-labels-idx1-ubyte"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["missing", "magic", "truncated", "truncated_gz", "count", "label"])
def test_mnist_idx_bad_input(tmp_path, kind):
    raw = _write_mnist(tmp_path / "raw", _sets((28, 28)))
    name = _corrupt_mnist(kind, raw)
    _check_bad(lambda out: mnist_idx.import_mnist(raw, out), name, tmp_path)


# --- SVHN / SynDigits ------------------------------------------------------------


def _write_mat(path, images, labels):
    y = np.where(labels == 0, 10, labels).astype(np.uint8).reshape(-1, 1)  # 10 means 0
    scipy.io.savemat(str(path), {"X": images.transpose(1, 2, 3, 0), "y": y})


def _write_svhn(folder, sets, names=svhn.SVHN_FILES):
    folder.mkdir(parents=True, exist_ok=True)
    for split, data in sets.items():
        _write_mat(folder / names[split], *data)
    return folder


def test_svhn_round_trip_10_is_0_and_extra(tmp_path):
    sets = _sets((32, 32, 3))
    raw = _write_svhn(tmp_path / "raw", sets)
    assert (scipy.io.loadmat(str(raw / "test_32x32.mat"))["y"] == 10).any()
    out = tmp_path / "data" / "svhn"
    svhn.import_svhn(raw, out, valid_fraction=FRACTION)
    _check_round_trip(out, sets)
    assert svhn.import_svhn(raw, out, valid_fraction=FRACTION) is None
    # extra_32x32.mat: added to train (off by default)
    extra = _images(1, (32, 32, 3), 5)
    _write_mat(raw / "extra_32x32.mat", *extra)
    both = {"train": tuple(np.concatenate([a, b]) for a, b in zip(sets["train"], extra)),
            "test": sets["test"]}
    stamp = svhn.import_svhn(raw, tmp_path / "data" / "svhn_extra", extra=True, valid_fraction=0.25)
    assert stamp["counts"]["train"] + stamp["counts"]["valid"] == 40
    assert stamp["arguments"]["extra"] is True and "extra" in stamp["arguments"]["inputs"]
    found = _domain(tmp_path / "data" / "svhn_extra")
    assert sorted(found["train"] + found["valid"]) == sorted(
        (int(y), x.tobytes()) for x, y in zip(*both["train"]))


def test_syndigits_reuses_the_svhn_reader(tmp_path):
    sets = _sets((32, 32, 3))
    raw = _write_svhn(tmp_path / "raw", sets, syndigits.SYN_FILES)
    out = tmp_path / "data" / "syn_digits"
    stamp = syndigits.import_syndigits(raw, out, valid_fraction=FRACTION)
    assert stamp["arguments"]["format"] == "syndigits_mat" and "SynDigits" in stamp["description"]
    _check_round_trip(out, sets)
    os.remove(raw / "synth_test_32x32.mat")
    _check_bad(lambda o: syndigits.import_syndigits(raw, o), "synth_test_32x32.mat", tmp_path)


@pytest.mark.parametrize("kind", ["missing", "garbage", "truncated", "count", "label"])
def test_svhn_bad_input(tmp_path, kind):
    sets = _sets((32, 32, 3))
    raw = _write_svhn(tmp_path / "raw", sets)
    name = "train_32x32.mat"
    path = raw / name
    if kind == "missing":
        os.remove(raw / "test_32x32.mat")
        name = "test_32x32.mat"
    elif kind == "garbage":
        path.write_bytes(b"not a mat file at all" * 20)
    elif kind == "truncated":
        path.write_bytes(path.read_bytes()[:2000])
    elif kind == "count":
        x, y = sets["train"]
        scipy.io.savemat(str(path), {"X": x.transpose(1, 2, 3, 0), "y": np.ones((len(y) - 1, 1))})
    elif kind == "label":
        x, y = sets["train"]
        scipy.io.savemat(str(path), {"X": x.transpose(1, 2, 3, 0), "y": np.full((len(y), 1), 11)})
    _check_bad(lambda out: svhn.import_svhn(raw, out), name, tmp_path)


# --- USPS -------------------------------------------------------------------------


def _libsvm_lines(images, labels):
    lines = []
    for image, digit in zip(images, labels):
        values = image.reshape(-1) / 255.0 * 2 - 1
        # index 1 left out when 0 (LIBSVM's sparse format): pixel 128 (value 0.0039)
        tokens = ["%d:%.6f" % (i + 1, v) for i, v in enumerate(values) if i or image.flat[0] != 128]
        lines.append("%d %s" % (digit + 1, " ".join(tokens)))  # label = digit + 1
    return "\n".join(lines) + "\n"


def _write_libsvm(folder, sets):
    folder.mkdir(parents=True, exist_ok=True)
    for split, name in (("train", "usps.bz2"), ("test", "usps.t.bz2")):
        (folder / name).write_bytes(bz2.compress(_libsvm_lines(*sets[split]).encode()))
    return folder


def test_usps_libsvm_round_trip(tmp_path):
    sets = _sets((16, 16))
    sets["train"][0][0].flat[0] = 128  # the left-out index 1
    raw = _write_libsvm(tmp_path / "raw", sets)
    out = tmp_path / "data" / "usps"
    stamp = usps.import_usps(raw / "usps.bz2", out, valid_fraction=FRACTION)
    assert stamp["arguments"]["format"] == "usps_libsvm"
    assert set(stamp["arguments"]["inputs"]) == {"train", "test"}
    _check_round_trip(out, sets)
    assert usps.import_usps(raw / "usps.bz2", out, valid_fraction=FRACTION) is None


@pytest.mark.parametrize("kind", ["missing", "truncated", "label", "line"])
def test_usps_libsvm_bad_input(tmp_path, kind):
    sets = _sets((16, 16))
    raw = _write_libsvm(tmp_path / "raw", sets)
    name, path = "usps.t.bz2", raw / "usps.t.bz2"
    if kind == "missing":
        os.remove(path)
    elif kind == "truncated":
        path.write_bytes(path.read_bytes()[:-30])
    elif kind == "label":  # 0 is not a LIBSVM usps label (1..10)
        path.write_bytes(bz2.compress(("0 1:0.5\n").encode()))
    elif kind == "line":
        path.write_bytes(bz2.compress(("3 1:0.5 257:0.1\n").encode()))
    _check_bad(lambda out: usps.import_usps(raw, out), name, tmp_path)


def _write_h5(path, sets, h5py):
    with h5py.File(path, "w") as f:
        for split, (images, labels) in sets.items():
            f[split + "/data"] = images.reshape(len(images), -1) / 255.0
            f[split + "/target"] = labels
    return path


def test_usps_h5_round_trip_and_bad_input(tmp_path):
    h5py = pytest.importorskip("h5py")
    sets = _sets((16, 16))
    (tmp_path / "raw").mkdir()
    _write_h5(tmp_path / "raw" / "usps.h5", sets, h5py)
    out = tmp_path / "data" / "usps"
    assert usps.import_usps(tmp_path / "raw", out, valid_fraction=FRACTION)["arguments"]["format"] == "usps_h5"
    _check_round_trip(out, sets)
    bad = {"train": sets["train"], "test": (sets["test"][0], sets["test"][1] + 5)}  # labels up to 14
    _write_h5(tmp_path / "bad.h5", bad, h5py)
    _check_bad(lambda o: usps.import_usps(tmp_path / "bad.h5", o), "bad.h5", tmp_path)
    with h5py.File(tmp_path / "nogroup.h5", "w") as f:
        f["train/data"] = np.zeros((2, 256))
    _check_bad(lambda o: usps.import_usps(tmp_path / "nogroup.h5", o), "nogroup.h5", tmp_path)


def test_usps_h5_without_h5py_says_pip_install(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_h5py(name, *args, **kwargs):
        if name == "h5py":
            raise ImportError("No module named 'h5py'")
        return real_import(name, *args, **kwargs)

    (tmp_path / "usps.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    monkeypatch.setattr(builtins, "__import__", no_h5py)
    with pytest.raises(ImportError, match="pip install h5py"):
        usps.import_usps(tmp_path / "usps.h5", tmp_path / "data" / "usps")
    assert not (tmp_path / "data" / "usps").exists()


# --- MNIST-M ------------------------------------------------------------------------


def _write_mnistm_folder(folder, sets):
    for split, (image_dir, labels_name) in mnistm.FOLDER_SPLITS.items():
        (folder / image_dir).mkdir(parents=True)
        lines = []
        for i, (image, digit) in enumerate(zip(*sets[split])):
            Image.fromarray(image).save(folder / image_dir / ("%08d.png" % i))
            lines.append("%08d.png %d\n" % (i, digit))
        (folder / labels_name).write_text("".join(lines))
    return folder


def test_mnistm_folder_round_trip(tmp_path):
    sets = _sets((32, 32, 3))
    _write_mnistm_folder(tmp_path / "raw" / "mnist_m", sets)
    out = tmp_path / "data" / "mnistm"
    stamp = mnistm.import_mnistm(tmp_path / "raw", out, valid_fraction=FRACTION)  # the folder above
    assert stamp["arguments"]["format"] == "mnistm_folder"
    _check_round_trip(out, sets)
    assert mnistm.import_mnistm(tmp_path / "raw" / "mnist_m", out, valid_fraction=FRACTION) is None


@pytest.mark.parametrize("kind", ["missing_image", "label", "line"])
def test_mnistm_folder_bad_input(tmp_path, kind):
    raw = _write_mnistm_folder(tmp_path / "raw" / "mnist_m", _sets((32, 32, 3)))
    labels = raw / "mnist_m_test_labels.txt"
    if kind == "missing_image":
        os.remove(raw / "mnist_m_test" / "00000003.png")
        name = "00000003.png"
    elif kind == "label":
        labels.write_text("00000000.png 12\n")
        name = "mnist_m_test_labels.txt"
    else:
        labels.write_text("00000000.png\n")
        name = "mnist_m_test_labels.txt"
    _check_bad(lambda out: mnistm.import_mnistm(raw, out), name, tmp_path)


def _write_pickle(path, arrays, gz=False):
    data = pickle.dumps(arrays, protocol=2)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_mnistm_pickle_labels_from_mnist_idx(tmp_path, gz):
    images = _sets((28, 28, 3))
    mnist = _sets((28, 28))
    mnist["train"] = (mnist["train"][0], images["train"][1])  # the labels MNIST-M was made from
    mnist["test"] = (mnist["test"][0], images["test"][1])
    idx = _write_mnist(tmp_path / "mnist", mnist, gz=True)
    pkl = _write_pickle(tmp_path / ("keras_mnistm.pkl" + (".gz" if gz else "")),
                        {b"train": images["train"][0], b"test": images["test"][0]}, gz)  # Python 2 keys
    out = tmp_path / "data" / "mnistm"
    stamp = mnistm.import_mnistm(pkl, out, idx, valid_fraction=FRACTION)
    assert stamp["arguments"]["format"] == "mnistm_pickle"
    assert set(stamp["arguments"]["inputs"]) == {"pickle", "mnist_train_labels", "mnist_test_labels"}
    _check_round_trip(out, images)
    assert mnistm.import_mnistm(pkl, out, idx, valid_fraction=FRACTION) is None


def test_mnistm_pickle_with_valid_follows_read_data_sets(tmp_path):
    images = _sets((28, 28, 3))
    x, y = images["train"]
    idx = _write_mnist(tmp_path / "mnist", {"train": (x[:, :, :, 0], y), "test": images["test"]})
    pkl = _write_pickle(tmp_path / "mnistm_data.pkl",
                        {"train": x[5:], "valid": x[:5], "test": images["test"][0]})
    sets = {"train": (x[5:], y[5:]), "valid": (x[:5], y[:5]), "test": images["test"]}
    mnistm.import_mnistm(pkl, tmp_path / "data" / "mnistm", idx)
    _check_round_trip(tmp_path / "data" / "mnistm", sets, valid_in_train=False)


@pytest.mark.parametrize("kind", ["count", "truncated", "no_idx"])
def test_mnistm_pickle_bad_input(tmp_path, kind):
    images = _sets((28, 28, 3))
    idx = _write_mnist(tmp_path / "mnist", _sets((28, 28)))
    arrays = {"train": images["train"][0], "test": images["test"][0][:-1]}  # 9 test images, 10 labels
    pkl = _write_pickle(tmp_path / "keras_mnistm.pkl", arrays)
    name, error = "keras_mnistm.pkl", (DigitFileError, FileNotFoundError)
    if kind == "truncated":
        pkl.write_bytes(pkl.read_bytes()[:1000])
    elif kind == "no_idx":
        os.remove(idx / "t10k-labels-idx1-ubyte")
        name = "t10k-labels-idx1-ubyte"
    _check_bad(lambda out: mnistm.import_mnistm(pkl, out, idx), name, tmp_path, error)
    with pytest.raises(ValueError, match="mnist_idx_folder"):
        mnistm.import_mnistm(pkl, tmp_path / "data" / "x")


# --- the command lines ---------------------------------------------------------------


def _other_domain(data):
    """A second tiny domain (train and test, all ten digits), written with write_domain."""
    x, y = _images(1, (8, 8), 9)
    write_domain(data / "toy", {"train": (x, y), "valid": (x, y), "test": (x[:5], y[:5])}, {"n": 10}, "toy")


def test_cli_target_writes_four_manifests(tmp_path, capsys):
    raw = _write_mnist(tmp_path / "raw", _sets((28, 28)))
    data = tmp_path / "data"
    _other_domain(data)
    save = tmp_path / "manifests"
    mnist_idx.main(["--input", str(raw), "--out", str(data / "mnist"), "--valid_fraction", str(FRACTION),
                    "--target", "toy", "--save_folder", str(save)])
    printed = json.loads(capsys.readouterr().out)
    assert printed["domain"] == str(data / "mnist")
    counts = {n: len(read_manifest(save / (n + ".csv")))
              for n in ("source_train", "source_valid", "target_adapt", "target_test")}
    assert counts == {"source_train": 20, "source_valid": 10, "target_adapt": 10, "target_test": 5}
    rows = read_manifest(save / "source_train.csv")
    assert {r["domain"] for r in rows} == {"mnist"} and all(os.path.isfile(r["image"]) for r in rows)


def test_cli_source_mismatched_label_space(tmp_path, capsys):
    raw = _write_libsvm(tmp_path / "raw", _sets((16, 16)))
    data = tmp_path / "data"
    _other_domain(data)
    save = tmp_path / "manifests"
    usps.main(["--input", str(raw), "--out", str(data / "usps"), "--valid_fraction", str(FRACTION),
               "--source", "toy", "--save_folder", str(save), "--label_space", "mismatched"])
    test = read_manifest(save / "target_test.csv")
    assert len(test) == 7 and {r["label"] for r in test} == set("3456789")  # target digits 3-9
    assert {r["label"] for r in read_manifest(save / "source_train.csv")} == set("0123456")
    assert {r["domain"] for r in test} == {"usps"}


@pytest.mark.parametrize("module", [mnist_idx, svhn, syndigits, usps, mnistm])
def test_cli_help(module, capsys):
    with pytest.raises(SystemExit) as info:
        module.main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "--input" in text and "--target" in text and "--label_space" in text


def test_cli_save_folder_needs_a_task(tmp_path):
    with pytest.raises(SystemExit):
        mnist_idx.main(["--input", str(tmp_path), "--target", "toy"])
