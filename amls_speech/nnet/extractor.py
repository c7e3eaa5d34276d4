"""Convolutional feature extractor F over MFCC "images" and real images.

The AMLS paper gives only the number of kernels per layer (keywords
{64, 64, 64}, emotion {128, 64, 64, 64}). Our choices, recorded in every
hparams file: 3x3 kernels, BatchNorm, ReLU, 2x2 max-pooling after each layer,
a stride of 2 in the first layer (``first_stride``: 2.3x less compute per
example on 2 CPU cores, which is what makes multi-seed benchmarks affordable),
and the output flattened (``pooling: flatten``) so that the classifier still
sees where in time and frequency a pattern occurred; ``pooling: average``
gives a smaller, position-free embedding instead.

The same module is the DANN paper's digit network (conv5x5x32, pool,
conv5x5x48, pool): ``input_shape`` (channels, height, width), ``padding:
valid`` and ``batchnorm: False``, as the paper's network has neither.
"""

import torch


class CNNExtractor(torch.nn.Module):
    """Stack of Conv2d-BatchNorm-ReLU-MaxPool blocks over ``(batch, frames, coeffs)`` or images.

    Arguments
    ---------
    channels : list of int
        Kernels per convolution layer.
    input_shape : tuple of int
        ``(frames, coeffs)`` of one spectrogram-like input, or ``(channels,
        height, width)`` of one image; used to size the output.
    kernel_size : int
        Square kernel size.
    pool : int
        Max-pooling factor after each layer (1 for none).
    first_stride : int
        Stride of the first convolution.
    pooling : str
        ``flatten`` keeps the final map, ``average`` averages it over time and frequency.
    dropout : float
        Dropout on the output features.
    padding : str
        ``same`` (zero padding of kernel_size // 2) or ``valid`` (none).
    batchnorm : bool
        BatchNorm after each convolution.

    Example
    -------
    >>> net = CNNExtractor([64, 64, 64], input_shape=(101, 40))
    >>> net.out_features
    3840
    >>> net(torch.randn(4, 101, 40)).shape
    torch.Size([4, 3840])
    >>> CNNExtractor([8, 8], (101, 40), pooling="average")(torch.randn(2, 101, 40)).shape
    torch.Size([2, 8])
    >>> CNNExtractor([64, 64, 64], (101, 40), first_stride=2).out_features
    768
    >>> digits = CNNExtractor([32, 48], (3, 28, 28), kernel_size=5, padding="valid", batchnorm=False)
    >>> digits(torch.randn(2, 3, 28, 28)).shape  # 48 maps of 4 x 4
    torch.Size([2, 768])
    """

    def __init__(
        self, channels, input_shape, kernel_size=3, pool=2, pooling="flatten", dropout=0.0,
        first_stride=1, padding="same", batchnorm=True,
    ):
        super().__init__()
        if pooling not in ("flatten", "average"):
            raise ValueError("pooling must be 'flatten' or 'average', got %r" % pooling)
        if padding not in ("same", "valid"):
            raise ValueError("padding must be 'same' or 'valid', got %r" % padding)
        if len(input_shape) not in (2, 3):
            raise ValueError("input_shape must be (frames, coeffs) or (channels, height, width), "
                             "got %r" % (input_shape,))
        self.image_input = len(input_shape) == 3
        layers, in_ch = [], input_shape[0] if self.image_input else 1
        pad = kernel_size // 2 if padding == "same" else 0
        for i, out_ch in enumerate(channels):
            stride = first_stride if i == 0 else 1
            layers.append(torch.nn.Conv2d(in_ch, out_ch, kernel_size, stride, pad, bias=not batchnorm))
            if batchnorm:
                layers.append(torch.nn.BatchNorm2d(out_ch))
            layers.append(torch.nn.ReLU(inplace=True))
            if pool > 1:
                layers.append(torch.nn.MaxPool2d(pool))
            in_ch = out_ch
        self.convs = torch.nn.Sequential(*layers)
        self.pooling = pooling
        self.dropout = torch.nn.Dropout(dropout)
        with torch.no_grad():
            self.out_features = self._embed(torch.zeros(1, *input_shape)).shape[1]

    def _embed(self, x):
        h = self.convs(x if self.image_input else x.unsqueeze(1))
        if self.pooling == "average":
            return h.mean(dim=(2, 3))
        return h.flatten(1)

    def forward(self, x):
        """Maps ``(batch, frames, coeffs)`` (or ``(batch, channels, height, width)``) to ``(batch, out_features)``."""
        return self.dropout(self._embed(x))
