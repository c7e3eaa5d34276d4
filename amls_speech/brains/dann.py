"""DANN: domain-adversarial training through a gradient reversal layer (Ganin et al.)."""

from amls_speech.brains.base import AdaptationBrain
from amls_speech.losses import domain_adversarial_loss
from amls_speech.nnet.grl import grad_reverse


class DANN(AdaptationBrain):
    """Minimises L_cls + L_d, with L_d reaching F through a reversal of strength lambda_p.

    Expects module ``discriminator``; ``lambda_p`` follows the paper's
    2/(1+exp(-gamma p)) - 1 schedule and the learning rate its
    mu0/(1+alpha p)^beta annealing (``lr_annealing`` in the hparams). Aligns
    all classes of both domains, private ones included: the negative transfer
    the AMLS paper measures.

    Example
    -------
    >>> import speechbrain as sb
    >>> from amls_speech.brains.testing import tiny_brain
    >>> brain, batch = tiny_brain(DANN)
    >>> sorted(brain.train_losses(brain.compute_forward(batch, sb.Stage.TRAIN), batch))
    ['cls', 'domain']
    """

    def source_weights(self, batch):
        """Per-sample weights of both source terms; ``None``: every sample weighs 1 (PADA overrides)."""
        return None

    def train_losses(self, out, batch):
        """``cls`` and ``domain`` (reversed), their source terms weighted by :meth:`source_weights`."""
        n = out["n_source"]
        w_source = self.source_weights(batch)
        d = self.modules.discriminator(grad_reverse(out["z"], self.adaptation_factor()))
        domain = domain_adversarial_loss(d[:n], d[n:], w_source=w_source, go_label_rule=self.go_label_rule)
        return {"cls": self.source_ce(out, batch, w_source), "domain": domain}
