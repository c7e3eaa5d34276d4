"""Images as inputs: reading a picture into a tensor, and the input normalisation.

The vision recipes feed images through the same datasets and Brains as audio:
the manifest's ``image`` column takes the place of ``wav``, an
:class:`ImageLoader` the place of the MFCC pipeline, and an
:class:`ImageNormalization` the place of SpeechBrain's ``InputNormalization``
(same call, ``normalize(x, lengths, epoch=...)``, so a Brain does not know
which it has).
"""

import numpy as np
import torch


class ImageError(ValueError):
    """An image file that cannot be read; the message names it."""


class ImageLoader:
    """Reads an image file as a ``(channels, size, size)`` float tensor in [0, 1].

    Grey images are repeated to three channels when ``channels`` is 3 (and
    colour images averaged when it is 1), so domains of either kind meet in
    one network, as MNIST meets MNIST-M in the DANN paper.

    Arguments
    ---------
    size : int
        Side of the square output; other sizes are resized (bilinear).
    channels : int
        1 (grey) or 3 (RGB).

    Example
    -------
    >>> import os, tempfile
    >>> from PIL import Image
    >>> path = os.path.join(tempfile.mkdtemp(), "d.png")
    >>> Image.fromarray(np.full((16, 16), 255, np.uint8)).save(path)
    >>> x = ImageLoader(size=28, channels=3)(path)
    >>> x.shape, float(x.max())
    (torch.Size([3, 28, 28]), 1.0)
    >>> ImageLoader()(path + ".missing")
    Traceback (most recent call last):
    ...
    amls_speech.images.ImageError: ...d.png.missing: cannot read the image (...); ...
    """

    def __init__(self, size=28, channels=3):
        if channels not in (1, 3):
            raise ValueError("channels must be 1 or 3, got %r" % channels)
        self.size, self.channels = int(size), channels

    def __call__(self, path):
        from PIL import Image

        try:
            with Image.open(path) as im:
                im = im.convert("RGB" if self.channels == 3 else "L")
                if im.size != (self.size, self.size):
                    im = im.resize((self.size, self.size), Image.BILINEAR)
                array = np.asarray(im, dtype=np.float32) / 255.0
        except (OSError, ValueError) as err:
            raise ImageError("%s: cannot read the image (%s); delete or replace the file and "
                             "re-run the preparation" % (path, err)) from err
        if array.ndim == 2:
            array = array[None]
        else:
            array = array.transpose(2, 0, 1)
        return torch.from_numpy(np.ascontiguousarray(array))


class ImageNormalization(torch.nn.Module):
    """Mean subtraction (the DANN paper's only pre-processing), per channel.

    ``mode="dataset"`` subtracts the per-channel mean of the training inputs:
    accumulated over every training batch of the first ``update_until_epoch``
    epochs (as SpeechBrain's ``InputNormalization`` does), then frozen and
    saved with the model, so the test uses the training statistics.
    ``mode="image"`` subtracts each image's own channel means (no statistics,
    nothing learnt from any domain).

    Arguments
    ---------
    mode : str
        ``dataset`` or ``image``.
    scale : bool
        Also divide by the standard deviation (``dataset``: the channel's over
        the training images; ``image``: the image's own): unit-variance inputs.
    channels : int
        Number of input channels.
    update_until_epoch : int
        Last epoch (1-based, as the epoch counter counts) whose batches update the mean.

    Example
    -------
    >>> norm = ImageNormalization(channels=1)
    >>> x = torch.full((2, 1, 4, 4), 0.5)
    >>> float(norm(x, torch.ones(2), epoch=1).abs().max())  # trained on: mean 0.5
    0.0
    >>> _ = norm.eval()
    >>> float(norm(torch.ones(1, 1, 4, 4), torch.ones(1), epoch=2).mean())
    0.5
    >>> float(ImageNormalization("image")(torch.arange(4.0).view(1, 1, 2, 2)).sum())
    0.0
    >>> scaled = ImageNormalization(channels=1, scale=True)
    >>> y = scaled(torch.tensor([0.0, 2.0]).view(2, 1, 1, 1), epoch=1)  # mean 1, std 1
    >>> [round(v, 3) for v in y.view(-1).tolist()]
    [-1.0, 1.0]
    """

    def __init__(self, mode="dataset", channels=3, update_until_epoch=1, scale=False):
        super().__init__()
        if mode not in ("dataset", "image"):
            raise ValueError("mode must be 'dataset' or 'image', got %r" % mode)
        self.mode, self.update_until_epoch, self.scale = mode, update_until_epoch, scale
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("mean_square", torch.zeros(channels))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    def forward(self, x, lengths=None, epoch=None):
        """Normalises ``(batch, channels, height, width)``; ``lengths`` is ignored (images have no padding)."""
        if self.mode == "image":
            centred = x - x.mean(dim=(2, 3), keepdim=True)
            return centred / (x.std(dim=(2, 3), keepdim=True) + 1e-5) if self.scale else centred
        if self.training and (epoch is None or epoch <= self.update_until_epoch):
            with torch.no_grad():
                n = x.shape[0] * x.shape[2] * x.shape[3]
                share = float(n / (self.count + n))
                self.mean += (x.detach().float().mean(dim=(0, 2, 3)) - self.mean) * share
                self.mean_square += ((x.detach().float() ** 2).mean(dim=(0, 2, 3)) - self.mean_square) * share
                self.count += n
        centred = x - self.mean.to(x.dtype).view(1, -1, 1, 1)
        if not self.scale:
            return centred
        std = (self.mean_square - self.mean ** 2).clamp_min(0).sqrt() + 1e-5
        return centred / std.to(x.dtype).view(1, -1, 1, 1)
