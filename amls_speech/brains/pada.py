"""PADA: partial adversarial domain adaptation (Cao et al., ECCV 2018), class-weighted DANN."""

import speechbrain as sb
import torch

from amls_speech.brains.dann import DANN
from amls_speech.data import labels
from amls_speech.semantic_alignment import pada_class_weights


class PADA(DANN):
    r"""DANN whose source terms are weighted by how much of each class the target seems to hold.

    With :math:`\gamma` the target's mean predicted class distribution divided
    by its maximum (:func:`~amls_speech.semantic_alignment.pada_class_weights`),

    .. math::
        L = \frac{1}{n_s}\sum_i \gamma_{y_i} L_y(x^s_i, y_i)
            + \frac{1}{n_s}\sum_i \gamma_{y_i} L_d(x^s_i, 1) + \frac{1}{n_t}\sum_j L_d(x^t_j, 0)

    so source-private classes, which the target rarely predicts, are neither
    learned as hard nor aligned. :math:`\gamma` is computed over the whole
    unlabelled adaptation set at the start of every training epoch (the PADA
    code: every 500 steps; an epoch of the digit recipes is about 110) and is
    a constant within it. For the first ``class_weight_warmup`` epochs
    (hparams, default 1) every class weighs 1, as in the PADA code's first
    500 steps: weights from an untrained classifier are noise, and a noisy
    gamma that favours a few classes starves the others of their
    cross-entropy, which makes the target predictions favour those few even
    more (measured on the tiny test corpus: source-validation accuracy 0.25
    against 0.6 for DANN after 5 epochs, when gamma was refreshed from epoch 1).

    Example
    -------
    >>> from amls_speech.brains.testing import tiny_brain
    >>> brain, batch = tiny_brain(PADA)
    >>> brain.class_weights.tolist()  # before any epoch: every class weighs 1
    [1.0, 1.0, 1.0]
    >>> sorted(brain.train_losses(brain.compute_forward(batch, sb.Stage.TRAIN), batch))
    ['cls', 'domain']
    """

    _class_weights = None

    @property
    def class_weights(self):
        """gamma, one weight per source class (on the device): ones until the first refresh."""
        if self._class_weights is None:
            return torch.ones(len(self.hparams.classes), device=self.device)
        return self._class_weights.to(self.device)

    def refresh_class_weights(self):
        """gamma from the current model's softmax over the unlabelled adaptation set."""
        probs = self.target_probabilities()  # forks the RNG: training draws stay the same
        self._class_weights = pada_class_weights(torch.as_tensor(probs, dtype=torch.float32))

    def on_stage_start(self, stage, epoch=None):
        """Adds a gamma refresh at every training epoch's start after the ``class_weight_warmup`` ones.

        Only where :meth:`fit` was given the unlabelled adaptation set.
        """
        super().on_stage_start(stage, epoch)  # an end-of-epoch resume restores its state here
        warmup = getattr(self.hparams, "class_weight_warmup", 1)
        if stage == sb.Stage.TRAIN and epoch > warmup and getattr(self, "unlabelled_target", None) is not None:
            self.refresh_class_weights()  # a mid-epoch resume puts the saved ones back at its first batch

    def resume_state(self):
        """Adds gamma (None before its first refresh)."""
        state = super().resume_state()
        state["class_weights"] = None if self._class_weights is None else self._class_weights.cpu()
        return state

    def load_resume_state(self, state):
        """Also puts back gamma."""
        super().load_resume_state(state)
        self._class_weights = state.get("class_weights")

    def source_weights(self, batch):
        """gamma of each source sample's class: DANN's two source terms are weighted by it."""
        return self.class_weights[labels(batch.source)]
