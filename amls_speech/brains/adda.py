"""ADDA: adversarial discriminative domain adaptation (Tzeng et al., CVPR 2017)."""

import speechbrain as sb
import torch
import torch.nn.functional as F

from amls_speech.brains.base import AdaptationBrain
from amls_speech.losses import domain_adversarial_loss


class ADDA(AdaptationBrain):
    """Source pre-training, then a GAN between a target encoder and a discriminator.

    1. Epochs 1..``pretrain_epochs``: source encoder F_s (module ``extractor``)
       and classifier G trained with cross-entropy (optimizer ``opt_class``).
       With ``warm_start`` F_s and G are the source-only model instead, and
       every epoch adapts.
    2. At the first adaptation epoch the target encoder F_t (module
       ``target_extractor``) is initialised from F_s. Each step then updates the
       discriminator D (``disc_opt_class``) to tell F_s(x_s) from F_t(x_t), and
       F_t (``target_opt_class``) with inverted labels, -log D(F_t(x_t)).
       F_s and G stay frozen.
    3. Target samples are classified as G(F_t(x)); ADDA never says "unknown".

    All three optimizers are registered with the checkpointer.

    Example
    -------
    >>> from amls_speech.brains.testing import tiny_brain
    >>> brain, batch = tiny_brain(ADDA, pretrain_epochs=0)
    >>> brain.start_adaptation()
    >>> losses = brain.adversarial_step(batch)
    >>> sorted(losses)
    ['disc', 'target_gan']
    """

    trains_on_target = False  # pre-training is source only; adaptation has its own step

    def init_optimizers(self):
        """Three optimizers, all checkpointed: for F_s and G, for F_t and for D.

        ``optimizer`` is ``opt_class``'s, ``target_optimizer`` (F_t)
        ``target_opt_class``'s and ``disc_optimizer`` (D) ``disc_opt_class``'s.
        """
        m = self.modules
        self.optimizer = self.opt_class(list(m.extractor.parameters()) + list(m.classifier.parameters()))
        self.target_optimizer = self.hparams.target_opt_class(m.target_extractor.parameters())
        self.disc_optimizer = self.hparams.disc_opt_class(m.discriminator.parameters())
        self.use_optimizers(optimizer=self.optimizer, target_optimizer=self.target_optimizer,
                            disc_optimizer=self.disc_optimizer)

    @property
    def pretrain_epochs(self):
        """Source pre-training epochs: none after a warm start from the source-only model."""
        return 0 if getattr(self.hparams, "warm_start", False) else self.hparams.pretrain_epochs

    @property
    def adapting(self):
        """Whether pre-training is over: the adversarial step trains, and target data goes through F_t."""
        return self.epoch > self.pretrain_epochs

    def start_adaptation(self):
        """F_t <- F_s (step 2 of ADDA)."""
        self.modules.target_extractor.load_state_dict(self.modules.extractor.state_dict())

    def on_stage_start(self, stage, epoch=None):
        """Adds F_t <- F_s at the first adaptation epoch's start (resumed within it: the checkpoint's F_t)."""
        super().on_stage_start(stage, epoch)
        if stage == sb.Stage.TRAIN and epoch == self.pretrain_epochs + 1 and self.step == 0:
            self.start_adaptation()

    def embed(self, feats, lens, domain="source"):
        """F_t for target data once adapting; F_s otherwise."""
        feats = self.modules.normalize(feats, lens, epoch=self.epoch)
        if domain == "target" and self.adapting:
            return self.modules.target_extractor(feats)
        return self.modules.extractor(feats)

    def train_losses(self, out, batch):
        """Pre-training: ``cls``, the source cross-entropy (adaptation has :meth:`adversarial_step`)."""
        return {"cls": self.source_ce(out, batch)}

    def adversarial_step(self, batch):
        """One discriminator update then one target-encoder update."""
        batch = batch.to(self.device)
        m = self.modules
        m.extractor.eval()  # frozen: its BatchNorm statistics must not move
        with torch.no_grad():
            zs = self.embed(*batch.source.feats, "source")
        zt = self.embed(*batch.target.feats, "target")

        disc = domain_adversarial_loss(m.discriminator(zs), m.discriminator(zt.detach()))
        self.disc_optimizer.zero_grad()
        disc.backward()
        self.disc_optimizer.step()

        d_t = m.discriminator(zt)
        gan = F.binary_cross_entropy_with_logits(d_t, torch.ones_like(d_t))  # inverted labels
        self.target_optimizer.zero_grad()
        gan.backward()
        self.target_optimizer.step()
        self.disc_optimizer.zero_grad()  # D's gradient from the encoder step is discarded
        return {"disc": disc.detach(), "target_gan": gan.detach()}

    def fit_batch(self, batch):
        """Pre-training: SpeechBrain's step; adapting: :meth:`adversarial_step`, its terms checked."""
        if not self.adapting:
            return super().fit_batch(batch)
        self.restore_training_state()  # Brain.fit_batch's on_fit_batch_start is bypassed here
        terms = self.adversarial_step(batch)
        self.check_finite(terms)  # after its two updates: ADDA steps inside adversarial_step
        self.record_terms(terms)
        self.optimizer_step += 1
        return sum(terms.values()).cpu()

    def freeze_optimizers(self, optimizers):
        """Only ``optimizer`` is SpeechBrain's to step and zero; :meth:`adversarial_step` steps the others."""
        return {"optimizer": optimizers["optimizer"]}  # only pre-training uses the generic step
