"""Source only: F and G trained with cross-entropy on source; the lower bound."""

import speechbrain as sb
import torch

from amls_speech.brains.base import AdaptationBrain


class SourceOnly(AdaptationBrain):
    """Trains on the source half of every batch and ignores the target half.

    The target half is not even fed forward, so BatchNorm statistics are pure
    source statistics: no adaptation of any kind leaks in.

    Example
    -------
    >>> from amls_speech.brains.testing import tiny_brain
    >>> brain, batch = tiny_brain(SourceOnly)
    >>> sorted(brain.train_losses(brain.compute_forward(batch, sb.Stage.TRAIN), batch))
    ['cls']
    """

    def compute_forward(self, batch, stage):
        if stage != sb.Stage.TRAIN:
            return super().compute_forward(batch, stage)
        batch = batch.to(self.device)
        xs, ls = batch.source.feats
        z = self.embed(xs, ls)
        return {"z": z, "logits": self.modules.classifier(z), "n_source": xs.shape[0]}

    def train_losses(self, out, batch):
        return {"cls": self.source_ce(out, batch)}
