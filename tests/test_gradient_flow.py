"""Where each loss term's gradient goes in a training step of DANN, UAN and AMLS.

- The non-adversarial discriminator (UAN's D', AMLS's D_0; module
  ``aux_discriminator``) learns on detached features: no gradient reaches F.
- The adversarial discriminator's loss reaches F reversed and scaled by
  ``adaptation_factor()``, while the discriminator itself descends it.
"""

import copy
import sys

import pytest
import speechbrain as sb
import torch

from amls_speech.brains import AMLS, DANN, UAN
from amls_speech.brains.testing import tiny_brain
from amls_speech.losses import domain_adversarial_loss
from amls_speech.schedules import Progress, dann_lambda

ADV = {DANN: "domain", UAN: "adv", AMLS: "adv"}  # the adversarial loss term
AUX = {UAN: "aux", AMLS: "d0"}  # the non-adversarial discriminator's term
ADVERSARIAL_WEIGHT = 0.5
P = 0.2  # training progress of every test: epoch 1 of 2, step 2 of 5


def make_brain(cls):
    """A tiny brain at progress P, so that adaptation_factor() is known and non-zero."""
    brain, batch = tiny_brain(cls, adversarial_weight=ADVERSARIAL_WEIGHT)
    brain.hparams.epoch_counter.current = 1
    brain.progress = Progress(n_epochs=2, steps_per_epoch=5)
    brain.step = 2
    brain.on_stage_start(sb.Stage.TRAIN)
    return brain, batch


def spy_weights(monkeypatch, cls):
    """Records the (w_source, w_target) of the brain's adversarial loss calls."""
    module = sys.modules[cls.__module__]
    real, calls = module.domain_adversarial_loss, []

    def spy(d_s, d_t, w_source=None, w_target=None, go_label_rule="none"):
        calls.append((w_source, w_target))
        return real(d_s, d_t, w_source, w_target, go_label_rule)

    monkeypatch.setattr(module, "domain_adversarial_loss", spy)
    # DANN: its single (unweighted) call; UAN and AMLS: the weighted call
    return lambda: calls[-1] if cls is DANN else [c for c in calls if c[0] is not None][-1]


def keep_only(monkeypatch, brain, term):
    """Makes the brain's objective the single loss term ``term``."""
    real = brain.train_losses
    monkeypatch.setattr(brain, "train_losses", lambda out, batch: {term: real(out, batch)[term]})


def domain_loss(disc, z, n, weights):
    """The discriminator's weighted domain loss on z, without gradient reversal."""
    d = disc(z)
    return domain_adversarial_loss(d[:n], d[n:], *weights)


def no_grad_in(module):
    return all(p.grad is None or not p.grad.any() for p in module.parameters())


def snapshot(module):
    return [p.detach().clone() for p in module.parameters()]


def unchanged(module, before):
    return all(torch.equal(p, q) for p, q in zip(module.parameters(), before))


def test_adaptation_factor_at_fixed_progress():
    brain, _ = make_brain(DANN)
    assert brain.training_progress() == pytest.approx(P)
    assert brain.adaptation_factor() == pytest.approx(ADVERSARIAL_WEIGHT * dann_lambda(P))
    assert brain.adaptation_factor() == pytest.approx(0.5 * 0.761594, rel=1e-5)  # tanh(1) / 2


@pytest.mark.parametrize("cls", [UAN, AMLS], ids=["UAN", "AMLS"])
def test_aux_discriminator_sends_no_gradient_to_extractor(cls):
    brain, batch = make_brain(cls)
    out = brain.compute_forward(batch, sb.Stage.TRAIN)
    brain.train_losses(out, batch)[AUX[cls]].backward()
    assert no_grad_in(brain.modules.extractor)
    assert no_grad_in(brain.modules.classifier)
    assert no_grad_in(brain.modules.discriminator)
    assert all(p.grad is not None and p.grad.any() for p in brain.modules.aux_discriminator.parameters())


@pytest.mark.parametrize("cls", [UAN, AMLS], ids=["UAN", "AMLS"])
def test_fit_batch_on_aux_term_moves_only_aux_discriminator(cls, monkeypatch):
    brain, batch = make_brain(cls)
    keep_only(monkeypatch, brain, AUX[cls])
    names = ("extractor", "classifier", "discriminator", "aux_discriminator")
    before = {name: snapshot(brain.modules[name]) for name in names}
    brain.fit_batch(batch)
    for name in names[:3]:
        assert unchanged(brain.modules[name], before[name]), name
    assert not unchanged(brain.modules.aux_discriminator, before["aux_discriminator"])


@pytest.mark.parametrize("cls", [DANN, UAN, AMLS], ids=["DANN", "UAN", "AMLS"])
def test_extractor_gets_reversed_scaled_adversarial_gradient(cls, monkeypatch):
    used_weights = spy_weights(monkeypatch, cls)
    brain, batch = make_brain(cls)
    lam = brain.adaptation_factor()
    out = brain.compute_forward(batch, sb.Stage.TRAIN)
    adv = brain.train_losses(out, batch)[ADV[cls]]
    params = list(brain.modules.extractor.parameters())
    got = torch.autograd.grad(adv, params, retain_graph=True)
    # the same loss by hand, no reversal, same weights and features
    plain = domain_loss(brain.modules.discriminator, out["z"], out["n_source"], used_weights())
    expected = torch.autograd.grad(plain, params)
    assert all(g.any() for g in expected)
    for g, e in zip(got, expected):
        assert torch.allclose(g, -lam * e, rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("cls", [UAN, AMLS], ids=["UAN", "AMLS"])
def test_adversarial_term_does_not_train_classifier_or_aux_discriminator(cls):
    # the sample weights come from G and D' but are constants of L_adv
    brain, batch = make_brain(cls)
    out = brain.compute_forward(batch, sb.Stage.TRAIN)
    brain.train_losses(out, batch)[ADV[cls]].backward()
    assert no_grad_in(brain.modules.classifier)
    assert no_grad_in(brain.modules.aux_discriminator)
    assert not no_grad_in(brain.modules.extractor)


@pytest.mark.parametrize("cls", [DANN, UAN, AMLS], ids=["DANN", "UAN", "AMLS"])
def test_discriminator_gets_unreversed_gradient(cls, monkeypatch):
    used_weights = spy_weights(monkeypatch, cls)
    brain, batch = make_brain(cls)
    out = brain.compute_forward(batch, sb.Stage.TRAIN)
    adv = brain.train_losses(out, batch)[ADV[cls]]
    disc, n = brain.modules.discriminator, out["n_source"]
    params = list(disc.parameters())
    got = torch.autograd.grad(adv, params)
    z = out["z"].detach()
    expected = torch.autograd.grad(domain_loss(disc, z, n, used_weights()), params)
    for g, e in zip(got, expected):
        assert torch.allclose(g, e, rtol=1e-5, atol=1e-8)
    # one SGD step along -got lowers the discriminator's own loss
    with torch.no_grad():
        before = domain_loss(disc, z, n, used_weights()).item()
        for p, g in zip(params, got):
            p -= 0.05 * g
        assert domain_loss(disc, z, n, used_weights()).item() < before


@pytest.mark.parametrize("cls", [DANN, UAN, AMLS], ids=["DANN", "UAN", "AMLS"])
def test_fit_batch_on_adversarial_term_is_a_min_max_step(cls, monkeypatch):
    used_weights = spy_weights(monkeypatch, cls)
    brain, batch = make_brain(cls)
    keep_only(monkeypatch, brain, ADV[cls])
    with torch.no_grad():
        z0 = brain.compute_forward(batch, sb.Stage.TRAIN)["z"]
    disc0 = copy.deepcopy(brain.modules.discriminator)
    classifier0 = snapshot(brain.modules.classifier)
    brain.fit_batch(batch)
    weights, n = used_weights(), z0.shape[0] // 2
    with torch.no_grad():
        z1 = brain.compute_forward(batch, sb.Stage.TRAIN)["z"]
        start = domain_loss(disc0, z0, n, weights).item()
        # D descends its domain loss, F ascends it (the reversed gradient)
        assert domain_loss(brain.modules.discriminator, z0, n, weights).item() < start
        assert domain_loss(disc0, z1, n, weights).item() > start
    assert unchanged(brain.modules.classifier, classifier0)
