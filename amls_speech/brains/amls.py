"""AMLS: adaptation under mismatched label spaces (the AMLS paper, section 3)."""

import speechbrain as sb
import torch
import torch.nn.functional as F

from amls_speech.amls_weights import adversarial_weights, class_weights, target_weights
from amls_speech.brains.base import AdaptationBrain
from amls_speech.data import labels
from amls_speech.diagnostics import PseudoLabelLog
from amls_speech.losses import domain_adversarial_loss
from amls_speech.nnet.grl import grad_reverse


class AMLS(AdaptationBrain):
    """Weighted adversarial alignment + thresholded pseudo-labels + "unknown" rejection.

    Per training batch (source half s, target half t):

    - ``cls``: L_cls, cross-entropy on the source half (Eq. 1).
    - ``d0``: BCE of the non-adversarial discriminator D_0 (module
      ``aux_discriminator``) on detached features, source 1 / target 0.
    - ``adv``: L_adv of Eq. 2, weighted by delta_S = eta[y_s] and
      delta_T = 0.5 (M + D_0) (``amls_speech.amls_weights``); it reaches F
      through gradient reversal, so D_adv (module ``discriminator``) maximises
      the domain log-likelihood and F minimises it (max_D min_F,G of the paper).
    - ``pseudo``: lambda * L_pseudo, cross-entropy on argmax(yhat_t) for target
      samples with delta_T > delta_p, averaged over the target half.

    delta_p is an :class:`~amls_speech.selection.EpochThreshold` (module
    ``pseudo_threshold``); at test time a sample with delta_T < delta_0 is
    "unknown", delta_0 being calibrated on the unlabelled adaptation set.

    Example
    -------
    >>> import speechbrain as sb
    >>> from amls_speech.brains.testing import tiny_brain
    >>> brain, batch = tiny_brain(AMLS)
    >>> sorted(brain.train_losses(brain.compute_forward(batch, sb.Stage.TRAIN), batch))
    ['adv', 'cls', 'd0', 'pseudo']
    """

    open_set = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pseudo_log = PseudoLabelLog()  # what was admitted, per epoch (diagnostics)

    def resume_state(self):
        """Adds the pseudo-label log, the current epoch's part included."""
        return dict(super().resume_state(), pseudo_log=self.pseudo_log.state())

    def load_resume_state(self, state):
        """Also puts back the pseudo-label log."""
        super().load_resume_state(state)
        self.pseudo_log.load_state(state["pseudo_log"])

    def weights(self, out, labels):
        """delta_T (raw, for the thresholds) and the weights of L_adv (all detached)."""
        n = out["n_source"]
        probs_t = torch.softmax(out["logits"][n:], dim=-1)
        d0_t = torch.sigmoid(out["aux"][n:])
        delta_t = target_weights(probs_t, d0_t)
        eta = class_weights(probs_t, delta_t)
        w_s, w_t = adversarial_weights(eta, labels, delta_t, self.hparams.weight_normalization)
        return delta_t, w_s, w_t

    def train_losses(self, out, batch):
        """``cls``, ``d0``, ``adv`` and ``pseudo`` (class docstring).

        The batch's delta_T is observed by delta_p's rule, and its
        pseudo-labels go to the pseudo-label log.
        """
        n, z = out["n_source"], out["z"]
        out["aux"] = self.modules.aux_discriminator(z.detach())
        delta_t, w_s, w_t = self.weights(out, labels(batch.source))
        d = self.modules.discriminator(grad_reverse(z, self.adaptation_factor()))

        logits_t = out["logits"][n:]
        pseudo_labels = logits_t.argmax(-1).detach()
        keep = delta_t > self.modules.pseudo_threshold.value
        pseudo = F.cross_entropy(logits_t, pseudo_labels, reduction="none")
        self.modules.pseudo_threshold.observe(delta_t)
        self.pseudo_log.record(batch.target.id, pseudo_labels, keep)
        return {
            "cls": self.source_ce(out, batch),
            "d0": domain_adversarial_loss(out["aux"][:n], out["aux"][n:]),
            "adv": domain_adversarial_loss(d[:n], d[n:], w_s, w_t, self.go_label_rule),
            "pseudo": self.hparams.pseudo_weight * (pseudo * keep.float()).mean(),
        }

    def on_stage_end(self, stage, stage_loss, epoch=None):
        """After training: delta_p re-chosen from the epoch's delta_T (and logged), the log's epoch closed."""
        super().on_stage_end(stage, stage_loss, epoch)
        if stage == sb.Stage.TRAIN:
            self.modules.pseudo_threshold.update()  # delta_p for the next epoch
            self.pseudo_log.end_epoch(epoch)
            self.train_stats["delta_p"] = self.modules.pseudo_threshold.value

    def rejection_scores(self, out):
        """delta_T = 0.5 (M + D_0) of every sample."""
        probs = torch.softmax(out["logits"], dim=-1)
        return target_weights(probs, torch.sigmoid(self.modules.aux_discriminator(out["z"])))
