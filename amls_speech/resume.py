"""What a checkpoint must hold, beyond SpeechBrain's, for a resumed run to end as an uninterrupted one.

SpeechBrain checkpoints the modules, optimizers, epoch counter, the Brain's
step and the train loader's position (intra-epoch checkpoints:
``--ckpt_interval_steps`` / ``--ckpt_interval_minutes``). Left out are the
random number generators (dropout draws from torch's global generator) and
the running sums a Brain keeps within an epoch (loss terms for the log,
AMLS's pseudo-label log). :class:`TrainingState` saves both and puts them back
at the point of the epoch where they were saved.
"""

import random

import numpy as np
import torch
from speechbrain.utils.checkpoints import mark_as_loader, mark_as_saver, register_checkpoint_hooks


def rng_states():
    """The states of torch's (CPU and CUDA), numpy's and Python's global generators.

    ``cuda`` is None where CUDA is not available; :func:`set_rng_states`
    restores them all.

    Example
    -------
    >>> states = rng_states()
    >>> sorted(states), states["numpy"][0]
    (['cuda', 'numpy', 'python', 'torch'], 'MT19937')
    >>> bool(torch.equal(states["torch"], torch.get_rng_state()))
    True
    """
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def set_rng_states(states):
    """Restores what :func:`rng_states` returned.

    Example
    -------
    >>> saved = rng_states()
    >>> first = torch.rand(3)
    >>> set_rng_states(saved)
    >>> bool(torch.equal(torch.rand(3), first))
    True
    """
    torch.set_rng_state(states["torch"])
    if states.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])


@register_checkpoint_hooks
class TrainingState:
    """A checkpoint recoverable: generator states and ``brain.resume_state()``.

    Loading only stashes the state; the Brain calls :meth:`apply` where the
    state was saved in the uninterrupted run: at the start of the next training
    stage for an end-of-epoch checkpoint, at the first training batch after the
    restart for an intra-epoch one (after the train loader has been recreated,
    which itself draws from torch's generator).

    Arguments
    ---------
    brain : object
        Has ``resume_state()`` (a picklable dict) and ``load_resume_state(dict)``.

    Example
    -------
    >>> import tempfile, os
    >>> class Counting:
    ...     total = 0
    ...     def resume_state(self):
    ...         return {"total": self.total}
    ...     def load_resume_state(self, state):
    ...         self.total = state["total"]
    >>> brain = Counting(); brain.total = 5
    >>> path = os.path.join(tempfile.mkdtemp(), "state.ckpt")
    >>> TrainingState(brain).save(path)
    >>> after = torch.rand(2)
    >>> other = Counting(); state = TrainingState(other)
    >>> state.load(path)
    >>> state.apply()
    >>> other.total, bool(torch.equal(torch.rand(2), after))
    (5, True)
    """

    def __init__(self, brain):
        self.brain = brain
        self.pending = None

    @mark_as_saver
    def save(self, path):
        """Writes the generator states and ``brain.resume_state()`` to ``path``."""
        torch.save({"rng": rng_states(), "brain": self.brain.resume_state()}, path)

    @mark_as_loader
    def load(self, path, end_of_epoch=True, device=None):
        """Stashes the state saved at ``path`` until :meth:`apply`; the other arguments are unused."""
        del end_of_epoch, device  # the Brain knows where in the epoch it resumes
        # the run's own checkpoint (a numpy generator state needs full unpickling)
        self.pending = torch.load(path, weights_only=False)

    def apply(self):
        """Puts the loaded state back (once); nothing happens if none was loaded."""
        if self.pending is not None:
            set_rng_states(self.pending["rng"])
            self.brain.load_resume_state(self.pending["brain"])
            self.pending = None
