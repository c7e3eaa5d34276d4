"""A convolutional decoder: the autoencoder half that turns an embedding back into an image."""

import torch


class ConvDecoder(torch.nn.Module):
    """Embedding -> image: a linear layer to ``channels[0]`` maps of size/4, then two x2 transposed convolutions.

    The mirror of the DANN digit extractor for the CKM autoencoder (the paper
    gives no decoder): ``(N, latent) -> (N, C, H, W)`` with H and W multiples
    of 4, ReLU between layers and a linear output (the inputs it
    reconstructs are mean-subtracted, so they can be negative).

    Arguments
    ---------
    latent_dim : int
        Size of the embedding.
    out_shape : tuple
        ``(C, H, W)`` of the images.
    channels : tuple
        Maps before the first and the second transposed convolution.

    Example
    -------
    >>> ConvDecoder(16, (3, 28, 28))(torch.randn(2, 16)).shape
    torch.Size([2, 3, 28, 28])
    """

    def __init__(self, latent_dim, out_shape=(3, 28, 28), channels=(48, 32)):
        super().__init__()
        c, h, w = out_shape
        if h % 4 or w % 4:
            raise ValueError("ConvDecoder needs image sides that are multiples of 4, got %s" % (out_shape,))
        self.start = (channels[0], h // 4, w // 4)
        self.project = torch.nn.Linear(latent_dim, channels[0] * (h // 4) * (w // 4))
        self.up = torch.nn.Sequential(
            torch.nn.ReLU(),
            torch.nn.ConvTranspose2d(channels[0], channels[1], 4, stride=2, padding=1),
            torch.nn.ReLU(),
            torch.nn.ConvTranspose2d(channels[1], c, 4, stride=2, padding=1),
        )

    def forward(self, z):
        """``(N, latent_dim)`` embeddings -> ``(N, C, H, W)`` images."""
        return self.up(self.project(z).view(-1, *self.start))
