"""AMLS and UAN weights and losses on a tiny batch worked out by hand."""

import math

import pytest
import speechbrain as sb
import torch

from amls_speech.amls_weights import class_weights, margin, source_weights, target_weights
from amls_speech.brains import AMLS, UAN
from amls_speech.brains.testing import tiny_brain
from amls_speech.losses import domain_adversarial_loss
from amls_speech.uan_weights import (
    normalize_batch,
    normalized_entropy,
    source_transferability,
    target_transferability,
)

# Two target samples over three source classes.
P_T = torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
D0_T = torch.tensor([0.8, 0.2])


def test_amls_target_weights_by_hand():
    # margins: 0.6 - 0.3 = 0.3 and 0.6 - 0.2 = 0.4
    assert margin(P_T).tolist() == pytest.approx([0.3, 0.4])
    # delta_T = 0.5 (M + D0): 0.5 (0.3 + 0.8) = 0.55 ; 0.5 (0.4 + 0.2) = 0.30
    assert target_weights(P_T, D0_T).tolist() == pytest.approx([0.55, 0.30])


def test_amls_class_and_source_weights_by_hand():
    delta_t = torch.tensor([0.55, 0.30])
    # eta = mean(p_i * delta_i): class 0 (0.6*.55 + 0.2*.3)/2 = 0.195
    #                            class 1 (0.3*.55 + 0.2*.3)/2 = 0.1125
    #                            class 2 (0.1*.55 + 0.6*.3)/2 = 0.1175
    eta = class_weights(P_T, delta_t)
    assert eta.tolist() == pytest.approx([0.195, 0.1125, 0.1175])
    assert class_weights(P_T, delta_t, "max").tolist() == pytest.approx(
        [1.0, 0.1125 / 0.195, 0.1175 / 0.195])
    # delta_S(x_s) = eta[y_s]
    assert source_weights(eta, torch.tensor([2, 0])).tolist() == pytest.approx([0.1175, 0.195])
    with pytest.raises(ValueError):
        class_weights(P_T, delta_t, "sum")


def test_weighted_adversarial_loss_by_hand():
    # D(z) = sigmoid(logit); source logits ln 3 -> D = 0.75 ; target logit 0 -> D = 0.5
    ds = torch.tensor([math.log(3.0), math.log(3.0)])
    dt = torch.tensor([0.0])
    ws, wt = torch.tensor([1.0, 0.5]), torch.tensor([0.4])
    expected = -(1.0 * math.log(0.75) + 0.5 * math.log(0.75)) / 2 - 0.4 * math.log(0.5)
    assert domain_adversarial_loss(ds, dt, ws, wt).item() == pytest.approx(expected, rel=1e-5)
    # unweighted: the plain DANN domain loss
    plain = -math.log(0.75) - math.log(0.5)
    assert domain_adversarial_loss(ds, dt).item() == pytest.approx(plain, rel=1e-5)


def test_amls_pseudo_label_loss_by_hand():
    brain, batch = tiny_brain(AMLS, pseudo_weight=0.5)
    out = brain.compute_forward(batch, sb.Stage.TRAIN)
    out["aux"] = brain.modules.aux_discriminator(out["z"].detach())
    _, delta_t, _ = brain.weights(out, batch.source.label_id.data.view(-1))
    cut = float(delta_t.median())
    brain.modules.pseudo_threshold.threshold.fill_(cut)
    terms = brain.train_losses(out, batch)
    logits_t = out["logits"][4:].detach()
    ce = torch.nn.functional.cross_entropy(logits_t, logits_t.argmax(-1), reduction="none")
    expected = 0.5 * (ce * (delta_t > cut).float()).sum() / 4  # mean over the target half
    assert terms["pseudo"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_amls_weights_gradients_do_not_flow():
    brain, batch = tiny_brain(AMLS)
    out = brain.compute_forward(batch, sb.Stage.TRAIN)
    out["aux"] = brain.modules.aux_discriminator(out["z"])
    ds, dt, eta = brain.weights(out, batch.source.label_id.data.view(-1))
    assert not (ds.requires_grad or dt.requires_grad or eta.requires_grad)


def test_uan_weights_by_hand():
    logits = torch.log(torch.tensor([[0.5, 0.5, 1e-12], [1.0, 1e-12, 1e-12]]))
    d = torch.tensor([0.3, 0.9])
    # normalised entropy: log 2 / log 3 = 0.63093 and 0
    assert normalized_entropy(torch.softmax(logits, -1)).tolist() == pytest.approx(
        [math.log(2) / math.log(3), 0.0], abs=1e-6)
    ws = source_transferability(logits, d)
    assert ws.tolist() == pytest.approx([math.log(2) / math.log(3) - 0.3, -0.9], abs=1e-6)
    assert target_transferability(logits, d).tolist() == pytest.approx((-ws).tolist())
    # min-max then / mean: [a, b] with a > b -> [1, 0] / 0.5 = [2, 0]
    assert normalize_batch(ws).tolist() == pytest.approx([2.0, 0.0])


def test_uan_temperature_flattens_predictions():
    logits = torch.tensor([[4.0, 0.0, 0.0]])
    d = torch.zeros(1)
    assert source_transferability(logits, d, 10.0) > source_transferability(logits, d, 1.0)


def test_open_set_prediction_uses_threshold():
    brain, batch = tiny_brain(UAN)
    brain.modules.eval()
    with torch.no_grad():
        out = brain.compute_forward(batch.target, sb.Stage.TEST)
        scores = brain.rejection_scores(out)
        brain.threshold = float(scores.median())
        preds, _ = brain.predict(out)
    unknown = len(brain.hparams.classes)
    assert ((preds == unknown) == (scores < brain.threshold)).all()
