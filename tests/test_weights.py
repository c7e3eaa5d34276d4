"""AMLS and UAN weights and losses on a tiny batch worked out by hand."""

import math

import pytest
import speechbrain as sb
import torch

from amls_speech.amls_weights import (
    adversarial_weights,
    class_weights,
    margin,
    source_weights,
    target_weights,
)
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
    # delta_S(x_s) = eta[y_s]
    assert source_weights(eta, torch.tensor([2, 0])).tolist() == pytest.approx([0.1175, 0.195])


def test_amls_adversarial_weight_normalisations_by_hand():
    delta_t, y = torch.tensor([0.55, 0.30]), torch.tensor([2, 0])
    eta = class_weights(P_T, delta_t)  # [0.195, 0.1125, 0.1175]
    w_s, w_t = adversarial_weights(eta, y, delta_t, "none")  # the paper as written
    assert w_s.tolist() == pytest.approx([0.1175, 0.195]) and w_t.tolist() == pytest.approx([0.55, 0.30])
    w_s, w_t = adversarial_weights(eta, y, delta_t, "max")  # eta / max eta; delta_T raw
    assert w_s.tolist() == pytest.approx([0.1175 / 0.195, 1.0]) and w_t.tolist() == pytest.approx([0.55, 0.30])
    w_s, w_t = adversarial_weights(eta, y, delta_t, "mean")  # each divided by its batch mean
    assert w_s.tolist() == pytest.approx([0.1175 / 0.15625, 0.195 / 0.15625])
    assert w_t.tolist() == pytest.approx([0.55 / 0.425, 0.30 / 0.425])
    with pytest.raises(ValueError, match="weight_normalization"):
        adversarial_weights(eta, y, delta_t, "sum")


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
    delta_t, _, _ = brain.weights(out, batch.source.label_id.data.view(-1))
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


def test_uan_temperature_by_hand():
    # two classes, logits (ln 3, 0), D' = 0.5
    logits, d = torch.tensor([[math.log(3.0), 0.0]]), torch.tensor([0.5])
    # T = 1: p = (3/4, 1/4), H / log 2 = 2 - (3/4) log2 3 = 0.81128
    h1 = 2.0 - 0.75 * math.log2(3.0)
    # T = 10: p = (q, 1 - q) with q = 3^0.1 / (3^0.1 + 1) = 0.52743, H / log 2 = 0.99782
    q = 3.0 ** 0.1 / (3.0 ** 0.1 + 1.0)
    h10 = -(q * math.log(q) + (1.0 - q) * math.log(1.0 - q)) / math.log(2.0)
    assert h1 == pytest.approx(0.81128, abs=1e-5) and h10 == pytest.approx(0.99782, abs=1e-5)
    assert target_transferability(logits, d, 1.0).item() == pytest.approx(0.5 - h1, abs=1e-6)
    assert target_transferability(logits, d, 10.0).item() == pytest.approx(0.5 - h10, abs=1e-6)
    assert source_transferability(logits, d, 10.0).item() == pytest.approx(h10 - 0.5, abs=1e-6)


def uan_weight_by_hand(logits, d_prob, temperature, sign):
    """sign * (H(softmax(logits / T)) / log K - D'), min-max normalised, / batch mean."""
    p = torch.softmax(logits / temperature, dim=-1)
    w = sign * (-(p * p.log()).sum(-1) / math.log(p.shape[-1]) - d_prob)
    w = (w - w.min()) / (w.max() - w.min())
    return w / w.mean()


@pytest.mark.parametrize("temps", [{}, {"source_temperature": 2.0, "target_temperature": 0.5}],
                         ids=["official", "custom"])
def test_uan_training_weights_use_source_and_target_temperatures(temps, monkeypatch):
    import amls_speech.brains.uan as uan_module

    used = []
    real = uan_module.domain_adversarial_loss
    monkeypatch.setattr(uan_module, "domain_adversarial_loss",
                        lambda ds, dt, ws=None, wt=None, go="none": used.append((ws, wt)) or real(ds, dt, ws, wt, go))
    brain, batch = tiny_brain(UAN, **temps)
    t_s, t_t = temps.get("source_temperature", 10.0), temps.get("target_temperature", 1.0)
    assert (brain.hparams.source_temperature, brain.hparams.target_temperature) == (t_s, t_t)
    out = brain.compute_forward(batch, sb.Stage.TRAIN)
    brain.train_losses(out, batch)
    w_s, w_t = used[-1]  # the weighted adversarial loss
    logits = out["logits"].detach()
    d = torch.sigmoid(brain.modules.aux_discriminator(out["z"])).detach()
    assert torch.allclose(w_s, uan_weight_by_hand(logits[:4], d[:4], t_s, 1.0), atol=1e-5)
    assert torch.allclose(w_t, uan_weight_by_hand(logits[4:], d[4:], t_t, -1.0), atol=1e-5)
    # the check tells the temperatures apart: w_t at the source's temperature differs
    assert not torch.allclose(w_t, uan_weight_by_hand(logits[4:], d[4:], t_s, -1.0), atol=1e-2)


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
