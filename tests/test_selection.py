"""Label-free thresholds: Otsu's split against hand-worked histograms, and AMLS's per-epoch delta_p."""

import math

import pytest
import torch

from amls_speech.selection import EpochThreshold, choose_threshold, otsu_threshold


def test_otsu_cuts_between_two_groups_at_the_first_best_edge():
    # 4 bins on [0, 1]: counts [2, 0, 0, 2]; every cut leaves means 1/8 and 7/8
    # on its two sides, so all tie and the lowest edge, 1/4, wins.
    assert otsu_threshold([0.0, 0.0, 1.0, 1.0], bins=4) == 0.25
    # counts [1, 0, 1, 2]: between-group variance w0 w1 (m0 - m1)^2 is
    # 1*3*(2/3)^2 = 4/3 at the cuts 1/4 and 1/2, and 2*2*(1/2)^2 = 1 at 3/4.
    assert otsu_threshold([0.0, 0.5, 1.0, 1.0], bins=4) == 0.25
    # counts [1, 1, 0, 2] (0.3 in the second bin): 1*3*(1/8 - 17/24)^2 = 49/48 at 1/4,
    # 2*2*(1/4 - 7/8)^2 = 25/16 at 1/2 and at 3/4 (empty bin between): 1/2 wins
    assert otsu_threshold([0.0, 0.3, 1.0, 1.0], bins=4) == 0.5
    # counts [2, 0, 1, 1]: 2*2*(1/8 - 3/4)^2 = 25/16 at 1/4 and 1/2, 3*1*(7/24 - 7/8)^2 = 49/48 at 3/4
    assert otsu_threshold([0.0, 0.0, 0.6, 1.0], bins=4) == 0.25


def test_otsu_on_degenerate_input():
    assert otsu_threshold([0.3, 0.3, float("nan")]) == 0.3  # one value: the cut is that value
    with pytest.raises(ValueError, match="empty set of weights"):
        otsu_threshold([float("nan")])


def test_epoch_threshold_adds_the_offset_to_each_epochs_otsu_split():
    th = EpochThreshold("otsu", offset=0.1)
    assert th.value == math.inf  # no pseudo-labels before the first epoch ends
    th.observe(torch.tensor([0.0, 0.0]))
    th.observe(torch.tensor([1.0, 1.0]))
    th.update()
    # 64 bins on [0, 1], all cuts tie (means 1/128 and 127/128): the first edge, 1/64
    assert th.value == pytest.approx(1 / 64 + 0.1)
    th.update()  # an epoch with nothing observed keeps the last value
    assert th.value == pytest.approx(1 / 64 + 0.1)


def test_fixed_rule_uses_its_value_from_the_start_without_the_offset():
    th = EpochThreshold("fixed", fixed=0.8, offset=0.1)
    assert th.value == pytest.approx(0.8)
    th.observe(torch.tensor([0.0, 1.0]))
    th.update()
    assert th.value == pytest.approx(0.8)


def test_bad_rules_are_refused_when_built_not_after_an_epoch():
    with pytest.raises(ValueError, match="unknown threshold rule 'median'; use one of \\['fixed', 'otsu'\\]"):
        EpochThreshold("median")
    with pytest.raises(ValueError, match="needs a value"):
        EpochThreshold("fixed")
    with pytest.raises(ValueError, match="unknown threshold rule"):
        choose_threshold("median", [0.0, 1.0])


def test_weights_seen_mid_epoch_survive_a_checkpoint():
    th = EpochThreshold("otsu", offset=0.1)
    th.observe(torch.tensor([0.0, 0.0]))
    resumed = EpochThreshold("otsu", offset=0.1)
    resumed.load_state_dict(th.state_dict())
    resumed.observe(torch.tensor([1.0, 1.0]))
    resumed.update()
    assert resumed.value == pytest.approx(1 / 64 + 0.1)  # as if never interrupted
