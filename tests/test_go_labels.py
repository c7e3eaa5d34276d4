"""Go-labels (Jin et al., Eq. 3): the rounding rule, its ablations, and their gradients."""

import pytest
import speechbrain as sb
import torch

from amls_speech.brains import AMLS, DANN, UAN
from amls_speech.brains.testing import tiny_brain
from amls_speech.losses import domain_adversarial_loss, go_labels


def logits_of(p):
    return torch.logit(torch.tensor(p, dtype=torch.float64))


def test_rounded_rule_by_hand():
    # source (d = 1): p < 0.5 is aligned -> 0.5; p = 0.5 rounds (half to even) to 0 -> 0.5
    g, w = go_labels(logits_of([0.2, 0.5, 0.7]), 1.0)
    assert g.tolist() == [0.5, 0.5, 1.0] and w is None
    # target (d = 0): p > 0.5 is aligned -> 0.5; p = 0.5 rounds to 0 -> keeps 0
    g, _ = go_labels(logits_of([0.3, 0.5, 0.9]), 0.0)
    assert g.tolist() == [0.0, 0.0, 0.5]


def test_soft_and_zero_out_ablations_by_hand():
    g, _ = go_labels(logits_of([0.2, 0.6]), 1.0, "soft")
    assert g.tolist() == pytest.approx([0.6, 0.8])
    g, w = go_labels(logits_of([0.2, 0.6]), 0.0, "zero_out")
    assert g.tolist() == [0.0, 0.0] and w.tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="go_labels must be one of"):
        go_labels(logits_of([0.5]), 1.0, "round")


def test_gradient_of_an_aligned_sample_shrinks():
    # d BCE / d logit = p - g: for a source sample at p = 0.3, -0.7 with the fixed
    # label 1 and -0.2 with the Go-label 0.5; an unaligned one (p = 0.8) keeps -0.2.
    grads = {}
    for rule in ("none", "rounded", "zero_out"):
        ds = logits_of([0.3, 0.8]).requires_grad_()
        dt = logits_of([0.1]).requires_grad_()
        domain_adversarial_loss(ds, dt, go_label_rule=rule).backward()
        grads[rule] = (ds.grad * 2).tolist()  # the source mean divides by n_s = 2
    assert grads["none"] == pytest.approx([-0.7, -0.2])
    assert grads["rounded"] == pytest.approx([-0.2, -0.2])
    assert grads["zero_out"] == pytest.approx([0.0, -0.2])


def test_weights_and_go_labels_combine():
    ds, dt = logits_of([0.3]), logits_of([0.9])
    w = torch.tensor([0.5], dtype=torch.float64)
    both = domain_adversarial_loss(ds, dt, w, w, go_label_rule="rounded")
    plain = domain_adversarial_loss(ds, dt, go_label_rule="rounded")
    assert both.item() == pytest.approx(0.5 * plain.item())


@pytest.mark.parametrize("cls,term", [(DANN, "domain"), (UAN, "adv"), (AMLS, "adv")])
def test_every_adversarial_brain_takes_the_switch(cls, term):
    values = {}
    for rule in ("none", "rounded"):
        torch.manual_seed(0)
        brain, batch = tiny_brain(cls, go_labels=rule)
        torch.manual_seed(1)  # the same discriminator for both rules
        for p in brain.modules.discriminator.parameters():
            torch.nn.init.normal_(p, std=2.0)
        out = brain.compute_forward(batch, sb.Stage.TRAIN)
        values[rule] = brain.train_losses(out, batch)[term].item()
    # Go-labels replace the labels of the aligned samples only, and for those the BCE
    # against 0.5 is below the BCE against the hard label (source, p < 0.5:
    # -log p - (-(log p + log(1 - p)) / 2) = log((1 - p) / p) / 2 > 0): the loss drops
    assert values["rounded"] != pytest.approx(values["none"])
    assert values["rounded"] < values["none"]
