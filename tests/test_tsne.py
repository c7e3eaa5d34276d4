"""t-SNE of learned features from trained recipe runs, on the tiny generated corpus."""

import numpy as np
import pytest

from amls_speech import tsne
from amls_speech.data import check_manifest
from amls_speech.recipe import load_hparams, run
from test_recipe_gender import HPARAMS, overrides


def test_tsne_plots_trained_runs_side_by_side(tiny_keywords, tmp_path):
    for method in ("source_only", "adda"):  # ADDA: the target goes through its own encoder
        run(load_hparams(HPARAMS / ("%s.yaml" % method), overrides(tiny_keywords, tmp_path)),
            {"device": "cpu", "noprogressbar": True})
    hp = load_hparams(HPARAMS / "adda.yaml", overrides(tiny_keywords, tmp_path))
    z, domain, label_set = tsne.embed_domains(hp, {"device": "cpu"})
    manifests = tmp_path / "M2F" / "shared10" / "manifests"
    source = check_manifest(manifests / "source_valid.csv")
    target = check_manifest(manifests / "target_test.csv")
    assert z.shape[0] == len(source) + len(target) and np.isfinite(z).all()
    assert list(domain).count("source") == len(source)
    assert list(label_set[len(source):]) == [r["label_set"] for r in target]
    assert {"shared", "target_private"} == set(label_set[domain == "target"])

    out = tmp_path / "tsne.png"
    sets = ["--set", "data_folder=%s" % tiny_keywords, "--set", "results_root=%s" % tmp_path,
            "--set", "source_valid_ratio=0.25", "--set", "batch_size=16"]
    tsne.main([str(HPARAMS / "source_only.yaml"), str(HPARAMS / "adda.yaml"), "--out", str(out)] + sets)
    assert out.stat().st_size > 5000


def test_tsne_needs_a_trained_run(tiny_keywords, tmp_path):
    hp = load_hparams(HPARAMS / "dann.yaml", overrides(tiny_keywords, tmp_path))
    with pytest.raises(FileNotFoundError, match="train this recipe first"):
        tsne.embed_domains(hp)
