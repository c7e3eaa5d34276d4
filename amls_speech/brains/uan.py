"""UAN: universal adaptation network (You et al., CVPR 2019)."""

from amls_speech.brains.base import AdaptationBrain
from amls_speech.losses import domain_adversarial_loss
from amls_speech.nnet.grl import grad_reverse
from amls_speech.uan_weights import (
    normalize_batch,
    source_transferability,
    target_transferability,
)

import torch


class UAN(AdaptationBrain):
    """Entropy + domain-similarity weighted adversarial alignment.

    Per training batch:

    - ``cls``: cross-entropy on the source half.
    - ``aux``: BCE of the non-adversarial discriminator D' (module
      ``aux_discriminator``) on detached features.
    - ``adv``: domain loss of the adversarial discriminator (module
      ``discriminator``, behind gradient reversal) weighted per sample by
      w_s and w_t (``amls_speech.uan_weights``), normalised per batch. The
      class logits behind their entropy are divided by ``source_temperature``
      for w_s and ``target_temperature`` for w_t; the official code uses 10
      and 1 (at 10 the target entropy is almost constant, so w_t would be
      D' alone).

    At test time w_t (temperature 1, not normalised) below w_0 means
    "unknown"; the official code fixes w_0 = -0.5 (``threshold_rule: fixed``).

    Example
    -------
    >>> import speechbrain as sb
    >>> from amls_speech.brains.testing import tiny_brain
    >>> brain, batch = tiny_brain(UAN)
    >>> brain.hparams.source_temperature, brain.hparams.target_temperature
    (10.0, 1.0)
    >>> sorted(brain.train_losses(brain.compute_forward(batch, sb.Stage.TRAIN), batch))
    ['adv', 'aux', 'cls']
    """

    open_set = True

    def train_losses(self, out, batch):
        """``cls``, ``aux`` and ``adv`` (class docstring)."""
        n, z, logits = out["n_source"], out["z"], out["logits"]
        aux = self.modules.aux_discriminator(z.detach())
        d_prob = torch.sigmoid(aux)
        t_s, t_t = self.hparams.source_temperature, self.hparams.target_temperature
        w_s = normalize_batch(source_transferability(logits[:n], d_prob[:n], t_s))
        w_t = normalize_batch(target_transferability(logits[n:], d_prob[n:], t_t))
        d = self.modules.discriminator(grad_reverse(z, self.adaptation_factor()))
        return {
            "cls": self.source_ce(out, batch),
            "aux": domain_adversarial_loss(aux[:n], aux[n:]),
            "adv": domain_adversarial_loss(d[:n], d[n:], w_s, w_t, self.go_label_rule),
        }

    def rejection_scores(self, out):
        """w_t = D'(z) - H(p)/log|C_S| at temperature 1, not normalised."""
        d_prob = torch.sigmoid(self.modules.aux_discriminator(out["z"]))
        return target_transferability(out["logits"], d_prob, temperature=1.0)
