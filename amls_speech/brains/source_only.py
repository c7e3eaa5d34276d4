"""Source only: F and G trained with cross-entropy on source; the lower bound."""

from amls_speech.brains.base import AdaptationBrain


class SourceOnly(AdaptationBrain):
    """Trains on the source half of every batch and ignores the target half.

    The target half is not even fed forward, so BatchNorm statistics are pure
    source statistics: no adaptation of any kind leaks in.

    Example
    -------
    >>> import speechbrain as sb
    >>> from amls_speech.brains.testing import tiny_brain
    >>> brain, batch = tiny_brain(SourceOnly)
    >>> sorted(brain.train_losses(brain.compute_forward(batch, sb.Stage.TRAIN), batch))
    ['cls']
    """

    trains_on_target = False

    def train_losses(self, out, batch):
        """``cls``: the source cross-entropy alone."""
        return {"cls": self.source_ce(out, batch)}
