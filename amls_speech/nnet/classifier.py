"""Label classifier G: fully connected layers over the extracted features."""

import torch


def mlp(input_size, hidden, dropout=0.0):
    """Linear-ReLU-Dropout layers; returns the stack and its output size.

    Example
    -------
    >>> net, size = mlp(10, [4, 3])
    >>> size, net(torch.randn(2, 10)).shape
    (3, torch.Size([2, 3]))
    """
    layers = []
    for size in hidden:
        layers += [torch.nn.Linear(input_size, size), torch.nn.ReLU(inplace=True)]
        if dropout > 0:
            layers.append(torch.nn.Dropout(dropout))
        input_size = size
    return torch.nn.Sequential(*layers), input_size


class Classifier(torch.nn.Module):
    """FC {256, 128} -> |C_S| logits (AMLS paper, section 4).

    Arguments
    ---------
    input_size : int
        Feature dimension.
    n_classes : int
        Number of source classes.
    hidden : list of int
        Hidden layer sizes.
    dropout : float
        Dropout after each hidden layer.

    Example
    -------
    >>> g = Classifier(3840, n_classes=20)
    >>> g(torch.randn(5, 3840)).shape
    torch.Size([5, 20])
    """

    def __init__(self, input_size, n_classes, hidden=(256, 128), dropout=0.0):
        super().__init__()
        self.hidden, size = mlp(input_size, hidden, dropout)
        self.out = torch.nn.Linear(size, n_classes)

    def forward(self, z):
        """Returns logits; apply softmax for the class probabilities ŷ."""
        return self.out(self.hidden(z))
