"""DANN schedules against values computed by hand."""

import math

import pytest
import torch

from amls_speech.schedules import AnnealedLR, Progress, annealed_lr, dann_lambda


@pytest.mark.parametrize("p", [0.0, 0.05, 0.3, 1.0])
def test_lambda_formula(p):
    assert dann_lambda(p) == pytest.approx(2 / (1 + math.exp(-10 * p)) - 1)


def test_lambda_values():
    assert dann_lambda(0.0) == 0.0
    assert dann_lambda(0.5) == pytest.approx(0.986614, abs=1e-6)  # 2/(1+e^-5) - 1
    assert dann_lambda(1.0, gamma=1.0) == pytest.approx(0.462117, abs=1e-6)


def test_lr_annealing_values():
    assert annealed_lr(0.0) == 0.01
    assert annealed_lr(0.5) == pytest.approx(0.01 / 6 ** 0.75)  # 0.0026084
    assert annealed_lr(0.5) == pytest.approx(0.0026084, abs=1e-7)
    assert annealed_lr(1.0, lr0=1e-3) == pytest.approx(1e-3 / 11 ** 0.75)


def test_progress_counts_steps_across_epochs():
    prog = Progress(n_epochs=3, steps_per_epoch=4)
    assert prog(1, 0) == 0.0
    assert prog(1, 2) == pytest.approx(2 / 12)
    assert prog(3, 4) == 1.0
    assert prog(9, 9) == 1.0  # clamped


def test_annealing_keeps_each_group_base_rate():
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [a], "lr": 0.01}, {"params": [b], "lr": 0.001}], lr=0.01)
    opt.param_groups[1]["initial_lr"] = 0.001
    AnnealedLR(0.01)(opt, 0.5)
    assert opt.param_groups[0]["lr"] == pytest.approx(annealed_lr(0.5, 0.01))
    assert opt.param_groups[1]["lr"] == pytest.approx(annealed_lr(0.5, 0.001))
