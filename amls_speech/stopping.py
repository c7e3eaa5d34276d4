"""Stop training on a plateau of a validation metric, with an absolute minimum gain.

SpeechBrain's ``EpochCounterWithStopper`` compares ``metric > (1 - 1e-6) * best``
for ``direction="max"``: a tie, or a gain of 0.01 point, resets the patience, so a
source classifier at 98% that wobbles by a tenth of a point trains to the epoch
limit. Here an epoch counts as an improvement only when it beats the best so far
by ``min_gain`` (absolute, in the metric's units).
"""

import logging

from speechbrain.utils.epoch_loop import EpochCounterWithStopper

logger = logging.getLogger(__name__)


class PlateauStopper(EpochCounterWithStopper):
    """Epoch counter that stops after ``patience`` epochs without a gain of ``min_gain``.

    An epoch improves when ``metric >= best + min_gain`` (``direction="max"``)
    or ``metric <= best - min_gain`` (``"min"``); the first checked epoch always
    does. Training stops once ``patience`` consecutive epochs have not
    improved, or at ``limit``. The state (epoch, best epoch and score, stop
    flag) is checkpointed by the parent class, so a resumed run stops where an
    uninterrupted one would.

    Arguments
    ---------
    limit : int
        Most epochs to run.
    patience : int
        Consecutive epochs without improvement that stop training.
    min_gain : float
        Smallest change of the metric that counts as an improvement.
    direction : str
        "max" (accuracy) or "min" (loss).
    warmup : int
        Epochs before the metric is first checked.

    Example
    -------
    >>> counter = PlateauStopper(limit=20, patience=2, min_gain=0.005)
    >>> accuracy = {1: 0.90, 2: 0.95, 3: 0.953, 4: 0.954, 5: 0.99}
    >>> ran = []
    >>> for epoch in counter:
    ...     ran.append(epoch)
    ...     counter.update_metric(accuracy[epoch])
    >>> ran, counter.best_limit, counter.best_score
    ([1, 2, 3, 4], 2, 0.95)
    """

    def __init__(self, limit, patience, min_gain=0.0, direction="max", warmup=0):
        super().__init__(limit, patience, warmup, direction)
        if min_gain < 0:
            raise ValueError("PlateauStopper: min_gain must be >= 0, got %r" % min_gain)
        self.min_gain = min_gain

    def update_metric(self, current_metric):
        """Records this epoch's ``current_metric`` and decides whether to stop."""
        if self.current <= self.limit_warmup:
            return
        gain = -self.sign * (current_metric - self.best_score)  # > 0: better
        if self.best_limit == 0 or gain >= self.min_gain:
            self.best_limit, self.best_score = self.current, current_metric
        waited = self.current - self.best_limit
        self.should_stop = waited >= self.limit_to_stop
        if self.should_stop:
            logger.info("%d epochs without a gain of %g: stopping", waited, self.min_gain)
