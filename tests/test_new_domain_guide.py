"""Follows docs/new_domain.md to the letter on a tiny generated corpus."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "docs" / "new_domain.md").read_text()


def code_block(lang):
    blocks = re.findall(r"```%s\n(.*?)```" % lang, GUIDE, re.S)
    assert len(blocks) == 1, "the guide should hold exactly one %s block" % lang
    return blocks[0]


def make_rooms_corpus(root):
    """Tones per word (a different pitch each) with room-dependent colouring."""
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    for room, tilt in (("kitchen", 0.0), ("car", 0.6)):
        for k, word in enumerate(["down", "no", "up", "yes"]):
            folder = root / room / word
            folder.mkdir(parents=True)
            for spk in ("ann", "bob", "cy", "dee", "eve"):
                for n in range(3):
                    f0 = 300 * (k + 1) * (1 + 0.03 * rng.standard_normal())
                    wav = 0.3 * np.sin(2 * np.pi * f0 * t) + 0.02 * rng.standard_normal(16000)
                    wav = np.convolve(wav, [1.0, tilt], mode="same")
                    sf.write(folder / ("%s_%d.wav" % (spk, n)), wav.astype("float32"), 16000)


def test_guide_prepare_and_train(tmp_path):
    (tmp_path / "my_rooms_prepare.py").write_text(code_block("python"))
    (tmp_path / "rooms_amls.yaml").write_text(code_block("yaml"))
    make_rooms_corpus(tmp_path / "rooms")

    cmd = [sys.executable, str(ROOT / "recipes" / "gender" / "train.py"), "rooms_amls.yaml",
           "--data_folder", str(tmp_path / "rooms"), "--number_of_epochs", "3", "--noprogressbar"]
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    manifests = tmp_path / "results" / "rooms" / "manifests"
    for name in ("source_train", "source_valid", "target_adapt", "target_test"):
        assert (manifests / (name + ".csv")).exists()
    target = (manifests / "target_test.csv").read_text()
    assert "target_private" in target and "source_private" not in target
    assert (tmp_path / "results" / "rooms" / "amls" / "seed0" / "results.json").exists()
    assert '"score"' in done.stdout
