"""BA3US: balanced adversarial alignment and adaptive uncertainty suppression (Liang et al., ECCV 2020)."""

import torch.nn.functional as F

from amls_speech.ba3us_losses import (augmentation_size, balanced_domain_weights, complement_entropy_loss,
                                      entropy_weights)
from amls_speech.brains.pada import PADA
from amls_speech.data import labels
from amls_speech.losses import domain_adversarial_loss, prediction_entropy
from amls_speech.nnet.grl import grad_reverse


class BA3US(PADA):
    r"""PADA's class weights gamma, plus BAA's augmented target half and AUS's two entropy terms.

    Per training batch of n source and n_t target rows, k =
    :func:`~amls_speech.ba3us_losses.augmentation_size` more source images
    (hparams ``ba3us_mu``; k falls from n/mu to 0 over the epochs) join the
    target half, labelled *target* for the discriminator. With
    :math:`p = \mathrm{softmax}(G(F(x)))`:

    .. math::
        L = \frac{\sum_i \gamma_{y_i} L_y(x_i, y_i)}{\sum_i \gamma_{y_i}}
            + L_d^{w}
            + \lambda_{c}\, L_{comp}(x^s, y; \gamma)
            + \lambda_{e}\, \frac{1}{n_t}\sum_j H(p(x^t_j))

    ``cls``: the class-weighted source cross-entropy, over the sum of the
    weights (the BA3US code; PADA's is a plain mean). ``domain``: the
    reversed domain loss with weights (1 + e^{-H}) x gamma
    (:func:`~amls_speech.ba3us_losses.balanced_domain_weights`).
    ``complement``: :func:`~amls_speech.ba3us_losses.complement_entropy_loss`
    (``complement_weight``, the code's 1). ``entropy``: the target entropy
    (``target_entropy_weight``, the code's 0.1).

    The augmented rows are the source images of the *previous* training
    batch (the first ``k`` of them): an independent draw of the source,
    disjoint from this batch's, without a second loader or random stream
    (the code draws them from a loader of their own). The first batch of a
    run has none; a resumed run gets the held batch back from its
    checkpoint. Inputs of all rows must share their shape (images, or
    fixed-length clips). gamma is PADA's: recomputed over the adaptation set
    every epoch after ``class_weight_warmup`` epochs of ones.

    Example
    -------
    >>> import speechbrain as sb
    >>> from amls_speech.brains.testing import tiny_brain
    >>> brain, batch = tiny_brain(BA3US, ba3us_mu=2, complement_weight=1.0, target_entropy_weight=0.1)
    >>> out = brain.compute_forward(batch, sb.Stage.TRAIN)  # nothing held yet: no augmentation
    >>> out["n_augment"], out["logits"].shape[0]
    (0, 8)
    >>> out = brain.compute_forward(batch, sb.Stage.TRAIN)  # 4 // 2 images of the batch before
    >>> out["n_augment"], out["logits"].shape[0]
    (2, 10)
    >>> sorted(brain.train_losses(out, batch))
    ['cls', 'complement', 'domain', 'entropy']
    """

    _held_source = None  # (feats, lens, label ids) of the previous training batch's source half

    def augmentation(self, n_source):
        """k of this epoch (:func:`~amls_speech.ba3us_losses.augmentation_size`); epochs count from 1."""
        return augmentation_size(n_source, self.hparams.ba3us_mu, max(self.epoch - 1, 0),
                                 self.hparams.epoch_counter.limit)

    def training_rows(self, batch):
        """Adds the first k source rows of the previous batch (``n_augment``, ``augment_labels``).

        This batch's source half is held for the next one.
        """
        rows, extra = super().training_rows(batch)
        xs, ls = rows[0]
        n, held = xs.shape[0], self._held_source
        k = 0 if held is None else min(self.augmentation(n), held[0].shape[0])
        if k:
            rows.append((held[0][:k].to(self.device), held[1][:k].to(self.device)))
        self._held_source = (xs.detach(), ls.detach(), labels(batch.source).detach())
        extra.update(n_augment=k, augment_labels=held[2][:k].to(self.device) if k else labels(batch.source)[:0])
        return rows, extra

    def train_losses(self, out, batch):
        """``cls``, ``domain``, ``complement`` and ``entropy`` (class docstring)."""
        n, k, hp = out["n_source"], out["n_augment"], self.hparams
        n_t = out["logits"].shape[0] - n - k
        y, gamma = labels(batch.source), self.class_weights
        probs = out["logits"].softmax(-1)
        w_cls = gamma[y]
        ce = F.cross_entropy(out["logits"][:n], y, reduction="none")
        certainty = entropy_weights(probs)
        w_source, w_half = balanced_domain_weights(certainty[:n] * w_cls, certainty[n:n + n_t],
                                                   certainty[n + n_t:] * gamma[out["augment_labels"]])
        d = self.modules.discriminator(grad_reverse(out["z"], self.adaptation_factor()))
        domain = domain_adversarial_loss(d[:n], d[n:], w_source, w_half, go_label_rule=self.go_label_rule)
        return {
            "cls": (w_cls * ce).sum() / w_cls.sum().clamp_min(1e-8),
            "domain": domain,
            "complement": hp.complement_weight * complement_entropy_loss(out["logits"][:n], y, w_cls,
                                                                       getattr(hp, "complement_alpha", 1.0)),
            "entropy": hp.target_entropy_weight * prediction_entropy(probs[n:n + n_t]).mean(),
        }

    def resume_state(self):
        """Adds the held source half (on the CPU)."""
        state = super().resume_state()
        held = self._held_source
        state["held_source"] = None if held is None else tuple(t.cpu() for t in held)
        return state

    def load_resume_state(self, state):
        """Also puts back the held source half."""
        super().load_resume_state(state)
        self._held_source = state.get("held_source")
