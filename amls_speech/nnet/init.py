"""He (Kaiming) initialisation for ReLU networks trained from scratch.

torch's default for ``Conv2d`` and ``Linear`` (uniform, ``a = sqrt(5)``)
shrinks the signal by about sqrt(3) per layer; with plain SGD at the DANN
paper's 0.01 and no BatchNorm, the digit network then sits at chance for
the first hundred-odd steps. The DANN paper does not say how it initialised;
the digit recipes choose He's normal initialisation (zero biases).
"""

import torch


def kaiming_init(*modules):
    """Re-initialises every ``Conv2d`` and ``Linear`` inside ``modules`` (He normal, fan-in, ReLU).

    Returns the modules, so hparams can apply it where they build them.

    Example
    -------
    >>> layer = torch.nn.Linear(400, 100)
    >>> _ = kaiming_init(layer)
    >>> round(layer.weight.std().item() * 20, 1), layer.bias.abs().sum().item()  # std = sqrt(2 / 400)
    (1.4, 0.0)
    """
    for module in modules:
        for m in module.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    torch.nn.init.zeros_(m.bias)
    return modules
