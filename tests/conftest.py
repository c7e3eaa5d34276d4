"""Shared fixtures: a tiny generated keyword corpus (all 35 words, 4+4 speakers)."""

import pytest

from data_prep.synth_keywords import generate_keywords


@pytest.fixture(scope="session")
def tiny_keywords(tmp_path_factory):
    """Speech Commands layout, 35 words x 8 speakers x 3 takes (eSpeak NG, synthetic)."""
    return generate_keywords(tmp_path_factory.mktemp("kw") / "keywords", seed=3,
                             speakers_per_gender=4, takes=3)
