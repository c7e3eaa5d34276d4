"""ISRA: implicit semantic response alignment (the ISRA paper) as a plug-in on a partial-DA backbone."""

from amls_speech.brains.ba3us import BA3US
from amls_speech.brains.pada import PADA
from amls_speech.semantic_alignment import (
    attention_masks,
    class2vec_loss,
    receptor_attention,
    receptor_loss,
    response_alignment_loss,
)


class SemanticResponseAlignment:
    r"""ISRA's semantic topic alignment (Eq. 4), mixed into a backbone: min L_B + alpha L_c2v + beta L_a,
    min L_reg.

    X is the bottleneck: the features z = F(x) where the domain
    discriminator attaches. Per training batch, beside the backbone's terms
    (L_B: PADA's ``cls`` and ``domain``; BA3US's also ``complement`` and
    ``entropy``):

    - ``c2v``: alpha x L_c2v (Eq. 1), the class2vec autoencoder (module
      ``class2vec``) reconstructing X; reaches the backbone.
    - ``align``: beta x L_a (Eq. 3) between the source and target attention
      masks M_j = N(A_j) * X, with A_j = |dg_j/dX| of the receptors (module
      ``receptors``).
    - ``receptors``: L_reg (Eq. 2) on detached X and codes, so it trains the
      receptors only, with an optimizer of their own (``opt_class`` again,
      under the same learning-rate schedule): the paper's separate
      minimisation. One optimizer for all would also share SpeechBrain's
      gradient-norm clipping (``max_grad_norm``, per optimizer): L_reg sums
      over the batch (Eq. 2; about 470 at the start on MN2MM-pda, with a
      gradient norm 19x the cross-entropy's: ``bench/loss_scales.py``), so
      it would shrink the model's clipped step to a few percent.

    The paper's readings are the defaults (hparams ``attention_gradient:
    output``, ``attention_normalization: topic``, ``alignment_reduction:
    sum``); the public code's are options (``loss``, ``batch``, ``mean``).
    On BA3US the target half of the masks and of L_c2v holds BAA's augmented
    source rows too, as in the ISRA code.

    Example
    -------
    >>> import speechbrain as sb
    >>> from amls_speech.brains import DANN
    >>> from amls_speech.brains.testing import tiny_brain
    >>> class DANNISRA(SemanticResponseAlignment, DANN):  # the mixin goes first
    ...     pass
    >>> brain, batch = tiny_brain(DANNISRA)
    >>> terms = brain.train_losses(brain.compute_forward(batch, sb.Stage.TRAIN), batch)
    >>> sorted(terms)
    ['align', 'c2v', 'cls', 'domain', 'receptors']
    >>> terms["receptors"].backward()  # L_reg trains the receptors only
    >>> brain.modules.receptors.w1.grad is None, brain.modules.extractor.convs[0].weight.grad is None
    (False, True)
    """

    def init_optimizers(self):
        """Two of ``opt_class``: ``optimizer`` for all but the receptors, ``receptor_optimizer`` for them."""
        receptors = set(map(id, self.modules.receptors.parameters()))
        self.optimizer = self.opt_class([p for p in self.modules.parameters() if id(p) not in receptors])
        self.receptor_optimizer = self.opt_class(self.modules.receptors.parameters())
        self.use_optimizers(optimizer=self.optimizer, receptor_optimizer=self.receptor_optimizer)

    def train_losses(self, out, batch):
        """The backbone's terms plus ``c2v``, ``align`` and ``receptors``."""
        terms = super().train_losses(out, batch)
        n, x, hp = out["n_source"], out["z"], self.hparams
        codes, x_hat = self.modules.class2vec(x)
        attention = receptor_attention(self.modules.receptors, x, hp.attention_gradient, codes)
        masks = attention_masks(attention, x, hp.attention_normalization)
        terms.update(
            c2v=hp.isra_alpha * class2vec_loss(x, x_hat, n),
            align=hp.isra_beta * response_alignment_loss(masks[:, :n], masks[:, n:], hp.alignment_reduction),
            receptors=receptor_loss(self.modules.receptors, x, codes, hp.receptor_l1),
        )
        return terms


class ISRA(SemanticResponseAlignment, PADA):
    """ISRA on PADA (method ``isra``; hparams ``backbone: pada``).

    Example
    -------
    >>> import speechbrain as sb
    >>> from amls_speech.brains.testing import tiny_brain
    >>> brain, batch = tiny_brain(ISRA)
    >>> terms = brain.train_losses(brain.compute_forward(batch, sb.Stage.TRAIN), batch)
    >>> sorted(terms)
    ['align', 'c2v', 'cls', 'domain', 'receptors']
    >>> sorted(brain.optimizers_dict)
    ['optimizer', 'receptor_optimizer']
    """


class BA3USISRA(SemanticResponseAlignment, BA3US):
    """ISRA on BA3US, the ISRA paper's backbone (method ``ba3us_isra``; hparams ``backbone: ba3us``).

    Example
    -------
    >>> import speechbrain as sb
    >>> from amls_speech.brains.testing import tiny_brain
    >>> brain, batch = tiny_brain(BA3USISRA, ba3us_mu=2, complement_weight=1.0, target_entropy_weight=0.1)
    >>> _ = brain.compute_forward(batch, sb.Stage.TRAIN)  # holds this batch's source half
    >>> terms = brain.train_losses(brain.compute_forward(batch, sb.Stage.TRAIN), batch)
    >>> sorted(terms)
    ['align', 'c2v', 'cls', 'complement', 'domain', 'entropy', 'receptors']
    """


BACKBONES = {"pada": ISRA, "ba3us": BA3USISRA}


def isra_brain(backbone):
    """The ISRA brain class on ``backbone`` (``pada`` or ``ba3us``), for the hparams' ``brain_class``.

    Example
    -------
    >>> isra_brain("ba3us").__name__
    'BA3USISRA'
    """
    if backbone not in BACKBONES:
        raise ValueError("ISRA's backbone must be one of %s, got %r" % (sorted(BACKBONES), backbone))
    return BACKBONES[backbone]
