"""hparams files that extend others (amls_speech/hparams_inheritance.py), through the recipes' loader."""

import pytest
import torch
from hyperpyyaml import load_hyperpyyaml

from amls_speech.hparams_inheritance import read_hparams
from amls_speech.recipe import load_hparams, save_hparams

BASE = """\
seed: 3
__set_seed: !apply:torch.manual_seed [!ref <seed>]
method: base
lr: 0.01
output_folder: !ref results/<method>/seed<seed>
net: !new:torch.nn.Linear [4, 3]
loader_opts: {batch_size: 8, drop_last: True}
modules:
    net: !ref <net>
"""


def write(folder, name, text):
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture
def files(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", """\
extends: base.yaml
method: child
loader_opts: {batch_size: 16}
head: !new:torch.nn.Linear [3, 2]
modules:
    head: !ref <head>
""")
    return tmp_path, child


def test_child_keys_replace_merge_and_append_and_base_references_see_them(files):
    _, child = files
    hp = load_hparams(child)
    assert hp["method"] == "child" and hp["lr"] == 0.01
    assert hp["output_folder"] == "results/child/seed3"          # the base's !ref sees the child's method
    assert hp["loader_opts"] == {"batch_size": 16, "drop_last": True}  # mappings merge key by key
    assert list(hp["modules"]) == ["net", "head"] and hp["modules"]["head"] is hp["head"]
    assert "extends" not in hp


def test_overrides_reach_keys_of_the_base(files):
    _, child = files
    hp = load_hparams(child, {"seed": 5, "lr": 0.5})
    assert hp["output_folder"] == "results/child/seed5" and hp["lr"] == 0.5
    with pytest.raises(Exception, match="nope"):  # an override that matches no key still fails
        load_hparams(child, {"nope": 1})


def test_base_networks_draw_the_same_weights_whatever_extends_them(files):
    folder, child = files
    alone = load_hparams(folder / "base.yaml")["net"].weight
    extended = load_hparams(child)["net"].weight
    assert torch.equal(alone, extended)
    torch.manual_seed(3)
    assert torch.equal(torch.nn.Linear(4, 3).weight, alone)


def test_a_mapping_with_another_tag_replaces_the_base_s_whole(tmp_path):
    write(tmp_path, "base.yaml", "net: !new:torch.nn.Linear {in_features: 4, out_features: 3, bias: False}\n")
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nnet: !new:torch.nn.Dropout {p: 0.3}\n")
    net = load_hparams(child)["net"]
    assert isinstance(net, torch.nn.Dropout) and net.p == 0.3
    same_tag = write(tmp_path, "wider.yaml", "extends: base.yaml\nnet: !new:torch.nn.Linear {out_features: 7}\n")
    net = load_hparams(same_tag)["net"]
    assert (net.in_features, net.out_features, net.bias) == (4, 7, None)  # arguments merge


def test_chains_and_lists_apply_in_order(files):
    folder, _ = files
    write(folder, "grandchild.yaml", "extends: child.yaml\nlr: 0.1\n")
    write(folder, "data.yaml", "lr: 0.2\nextra: 1\n")
    assert load_hparams(folder / "grandchild.yaml")["method"] == "child"
    both = write(folder, "both.yaml", "extends: [child.yaml, data.yaml]\nextra: 2\n")
    hp = load_hparams(both)
    assert (hp["method"], hp["lr"], hp["extra"]) == ("child", 0.2, 2)


def test_a_missing_base_or_a_cycle_is_named(tmp_path):
    lost = write(tmp_path, "lost.yaml", "extends: nowhere.yaml\nlr: 1\n")
    with pytest.raises(FileNotFoundError, match="lost.yaml extends .*nowhere.yaml"):
        load_hparams(lost)
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\n")
    with pytest.raises(ValueError, match="extends itself"):
        load_hparams(tmp_path / "a.yaml")
    bad = write(tmp_path, "bad.yaml", "extends: {a: 1}\n")
    with pytest.raises(ValueError, match="must name an hparams file"):
        load_hparams(bad)


def test_the_run_folder_keeps_the_merged_file(files, tmp_path):
    _, child = files
    save_hparams(child, {"seed": 4}, tmp_path)
    saved = load_hyperpyyaml((tmp_path / "hyperparams.yaml").read_text())
    assert saved["output_folder"] == "results/child/seed4" and saved["lr"] == 0.01
    assert list(saved["modules"]) == ["net", "head"]


def test_a_file_without_extends_reads_as_itself(files):
    folder, _ = files
    assert load_hyperpyyaml(read_hparams(folder / "base.yaml"))["output_folder"] == "results/base/seed3"


@pytest.mark.parametrize("recipe", ["gender", "microphone", "emotion", "digits"])
def test_adda_s_target_encoder_is_a_separate_copy_of_the_recipe_s_encoder(recipe):
    hparams = load_hparams("recipes/%s/hparams/adda.yaml" % recipe)
    f, f_t = hparams["extractor"], hparams["target_extractor"]
    assert f_t is not f and hparams["modules"]["target_extractor"] is f_t
    shapes = {k: v.shape for k, v in f.state_dict().items()}
    assert shapes and {k: v.shape for k, v in f_t.state_dict().items()} == shapes
    assert not {id(p) for p in f.parameters()} & {id(p) for p in f_t.parameters()}


def test_a_dropped_key_leaves_the_merged_file_and_a_reference_to_it_is_named(files, tmp_path):
    folder, child = files
    dropper = write(folder, "dropper.yaml", "extends: child.yaml\nlr: !drop\nmodules:\n    net: !drop\n")
    tree = load_hyperpyyaml(read_hparams(dropper))
    assert "lr" not in tree and list(tree["modules"]) == ["head"] and tree["method"] == "child"
    alone = write(folder, "alone.yaml", "a: 1\nb: !drop\n")
    assert load_hyperpyyaml(read_hparams(alone)) == {"a": 1}
    dangling = write(folder, "dangling.yaml", "extends: base.yaml\nseed: !drop\n")
    with pytest.raises(ValueError, match="seed"):
        load_hyperpyyaml(read_hparams(dangling))


@pytest.mark.parametrize("recipe", ["gender", "microphone", "emotion"])
def test_adaptive_speech_files_drop_source_only_plateau_stopping(recipe):
    tree = load_hparams("recipes/%s/hparams/dann.yaml" % recipe)
    assert "patience" not in tree and "min_gain" not in tree
    assert load_hparams("recipes/%s/hparams/source_only.yaml" % recipe)["patience"] == 3


@pytest.mark.parametrize("recipe, expected", [("gender", "none"), ("microphone", "mean"), ("emotion", "none")])
def test_amls_weight_normalisation_is_the_one_its_task_family_chose(recipe, expected):
    # the microphone recipe overrides the shared AMLS file (microphone development corpus, docs/knobs.md)
    assert load_hparams("recipes/%s/hparams/amls.yaml" % recipe)["weight_normalization"] == expected
