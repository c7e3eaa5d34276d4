"""Training-progress schedules of the DANN paper (Ganin et al., section 5.2.2).

``p`` is the training progress, linearly 0 -> 1 over all optimisation steps.
"""

import math


def dann_lambda(p, gamma=10.0):
    """Adaptation factor :math:`\\lambda_p = 2 / (1 + e^{-\\gamma p}) - 1`.

    Grows from 0 to ~1 so that the noisy early discriminator does not disturb
    the classifier.

    Example
    -------
    >>> dann_lambda(0.0), round(dann_lambda(1.0), 4), round(dann_lambda(0.1), 4)
    (0.0, 0.9999, 0.4621)
    """
    return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0


def annealed_lr(p, lr0=0.01, alpha=10.0, beta=0.75):
    """Learning rate :math:`\\mu_p = \\mu_0 / (1 + \\alpha p)^\\beta`.

    Example
    -------
    >>> annealed_lr(0.0), round(annealed_lr(1.0), 6)
    (0.01, 0.001656)
    """
    return lr0 / (1.0 + alpha * p) ** beta


class Progress:
    """Training progress ``p`` from the epoch and the step within it.

    Derived from counters the Brain already checkpoints, so it needs no state
    of its own and resumes exactly.

    Arguments
    ---------
    n_epochs : int
        Total epochs of the schedule.
    steps_per_epoch : int
        Optimisation steps in one epoch.

    Example
    -------
    >>> prog = Progress(n_epochs=4, steps_per_epoch=10)
    >>> prog(epoch=1, step=0), prog(epoch=2, step=5), prog(epoch=4, step=10)
    (0.0, 0.375, 1.0)
    """

    def __init__(self, n_epochs, steps_per_epoch):
        self.total = max(1, n_epochs * steps_per_epoch)
        self.steps_per_epoch = steps_per_epoch

    def __call__(self, epoch, step):
        done = (epoch - 1) * self.steps_per_epoch + step
        return min(1.0, max(0.0, done / self.total))


class AnnealedLR:
    """Sets every param group of an optimizer to :func:`annealed_lr` of the progress.

    Each group keeps its own base rate (``initial_lr``), which lets a pretrained
    part run at a tenth of the rate as in the DANN paper.

    Arguments
    ---------
    lr0 : float
        Base learning rate :math:`\\mu_0` (used for groups without ``initial_lr``).
    alpha, beta : float
        Annealing constants.

    Example
    -------
    >>> import torch
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.01)
    >>> AnnealedLR(0.01)(opt, p=1.0)
    >>> round(opt.param_groups[0]["lr"], 6)
    0.001656
    """

    def __init__(self, lr0=0.01, alpha=10.0, beta=0.75):
        self.lr0, self.alpha, self.beta = lr0, alpha, beta

    def __call__(self, optimizer, p):
        for group in optimizer.param_groups:
            base = group.setdefault("initial_lr", self.lr0)
            group["lr"] = annealed_lr(p, base, self.alpha, self.beta)
