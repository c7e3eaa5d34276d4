"""BA3US's terms against values worked out by hand, and its batch augmentation in a Brain."""

import speechbrain as sb
import torch
import torch.nn.functional as F

from amls_speech.ba3us_losses import balanced_domain_weights, complement_entropy_loss
from amls_speech.brains import BA3US
from amls_speech.brains.testing import tiny_brain
from amls_speech.losses import domain_adversarial_loss

KNOBS = dict(ba3us_mu=2, complement_weight=1.0, target_entropy_weight=0.1)


def test_complement_entropy_flattens_the_wrong_classes_and_spares_the_true_one():
    logits = torch.log(torch.tensor([[0.5, 0.4, 0.1]])).requires_grad_()
    complement_entropy_loss(logits, torch.tensor([0])).backward()
    # q = (0.8, 0.2); d/dz of sum q log q pushes the larger wrong score down, the smaller up
    assert logits.grad[0, 1] > 0 > logits.grad[0, 2]
    # the loss depends on the true class only through q's normaliser: p_y's logit gets
    # exactly minus the sum of the others' (softmax gradients sum to 0)
    assert abs(float(logits.grad.sum())) < 1e-6


def test_balanced_weights_give_the_codes_loss_times_two_plus_k_over_n():
    d = torch.tensor([0.3, -0.2, 1.0, 0.4, -0.7])  # 2 source, 2 target, 1 augmented (labelled target)
    raw = torch.tensor([1.2, 0.8, 1.5, 1.0, 0.6])
    ws, wt = balanced_domain_weights(raw[:2], raw[2:4], raw[4:])
    ours = domain_adversarial_loss(d[:2], d[2:], ws, wt)
    # the BA3US code: source and augmented rows share 1 + k/n, target rows 1, then
    # sum(w * BCE) / sum(w)
    share = 1.5 * torch.cat([raw[:2], raw[4:]]) / (raw[:2].sum() + raw[4:].sum())
    w = torch.stack([share[0], share[1], raw[2] / raw[2:4].sum(), raw[3] / raw[2:4].sum(), share[2]])
    bce = F.binary_cross_entropy_with_logits(d, torch.tensor([1.0, 1, 0, 0, 0]), reduction="none")
    code = (w * bce).sum() / w.sum()
    assert torch.allclose(ours, 2.5 * code)


def test_the_previous_batch_joins_the_target_half_labelled_target():
    brain, batch = tiny_brain(BA3US, **KNOBS)
    first = brain.compute_forward(batch, sb.Stage.TRAIN)
    assert first["n_augment"] == 0  # nothing held before the first batch
    out = brain.compute_forward(batch, sb.Stage.TRAIN)
    assert out["n_augment"] == 2 and out["augment_labels"].tolist() == [0, 1]  # rows s0, s1
    # the added rows are the held source images: their features equal the source rows'
    assert torch.allclose(out["z"][8:], out["z"][:2])
    brain.hparams.epoch_counter.limit, brain.hparams.epoch_counter.current = 2, 2  # last of 2 epochs: (4 // 2) x (1 - 1/2) = 1 row
    assert brain.compute_forward(batch, sb.Stage.TRAIN)["n_augment"] == 1


def test_the_held_batch_survives_a_checkpoint():
    brain, batch = tiny_brain(BA3US, **KNOBS)
    brain.compute_forward(batch, sb.Stage.TRAIN)
    brain.loss_terms = {}  # the epoch's running sums, which Brain sets at the stage start
    state = brain.resume_state()
    fresh, _ = tiny_brain(BA3US, **KNOBS)
    fresh.load_resume_state(state)
    assert fresh.compute_forward(batch, sb.Stage.TRAIN)["n_augment"] == 2


def test_target_entropy_term_reaches_only_the_model_not_the_discriminator():
    brain, batch = tiny_brain(BA3US, **KNOBS)
    brain.compute_forward(batch, sb.Stage.TRAIN)
    terms = brain.train_losses(brain.compute_forward(batch, sb.Stage.TRAIN), batch)
    brain.modules.zero_grad(set_to_none=True)
    terms["entropy"].backward()
    touched = {m for m, mod in brain.modules.items()
               if any(p.grad is not None and p.grad.abs().sum() > 0 for p in mod.parameters())}
    assert touched == {"extractor", "classifier"}
