"""Domain discriminator: FC {128, 128} -> one logit (source = 1, target = 0)."""

import torch

from amls_speech.nnet.classifier import mlp


class Discriminator(torch.nn.Module):
    """Scores how source-like a feature is.

    Returns a logit; ``torch.sigmoid`` of it is D(z), the probability of the
    source domain. Losses use the logit form of binary cross-entropy, which is
    the same quantity computed without overflow.

    Arguments
    ---------
    input_size : int
        Feature dimension.
    hidden : list of int
        Hidden layer sizes (AMLS: {128, 128}; DANN's paper: {1024, 1024}).
    dropout : float
        Dropout after each hidden layer.

    Example
    -------
    >>> d = Discriminator(64)
    >>> d(torch.randn(3, 64)).shape
    torch.Size([3])
    """

    def __init__(self, input_size, hidden=(128, 128), dropout=0.0):
        super().__init__()
        self.hidden, size = mlp(input_size, hidden, dropout)
        self.out = torch.nn.Linear(size, 1)

    def forward(self, z):
        """``(N, input_size)`` features -> ``(N,)`` logits of the source domain."""
        return self.out(self.hidden(z)).squeeze(-1)
