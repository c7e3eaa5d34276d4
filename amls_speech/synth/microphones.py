"""Simulated microphones: clean 16 kHz speech rendered through device chains.

This is the synthetic stand-in for the Mic2Mic corpus, in which the same
keywords were recorded simultaneously by several microphones, one domain per
microphone. Here a clean keyword corpus is played through simulated devices.
Each device is a chain of small DSP stages (a room impulse response,
band limits, resonances, a noise floor, mains hum, automatic gain control,
clipping, an 8 kHz mu-law codec). Every stage is a callable
``stage(wav, rng) -> wav`` that works on float mono audio at
:data:`SAMPLE_RATE` and returns the same number of samples.

The three devices named after Mic2Mic's microphones (see :data:`DEVICES`):

* ``M`` Matrix Voice: a MEMS array board in a small reverberant room. Strong
  low cut, a presence peak and a MEMS port resonance, moderate white
  self-noise.
* ``R`` ReSpeaker: a far-field board in a larger, more reverberant room. Wider
  low end, a low-mid resonance and a notch, pink noise, AGC-like compression,
  then an 8 kHz mu-law codec round trip (no energy above 4 kHz).
* ``U`` USB: a cheap close-talk USB mic. Narrow 300-3400 Hz band, a capsule
  resonance, too much preamp gain with soft saturation, 50 Hz mains hum, a high
  white noise floor and ADC clipping.

Rendering is deterministic: pass the same ``seed`` and you get the same output.
:func:`file_seed` derives a per-file seed from a file name, the device letter
and a global seed, so re-rendering a corpus is reproducible and does not
depend on the order of the files.

The audio is synthetic. It reproduces the kind of domain shift (channel,
room, noise, codec) between microphones, not the real Mic2Mic recordings.
"""

import hashlib
from dataclasses import dataclass, field
from math import gcd

import numpy as np
from scipy import signal

SAMPLE_RATE = 16000
"""Sample rate (Hz) of everything this module reads and writes."""

_EPS = 1e-12


def _as_float(wav):
    wav = np.asarray(wav, dtype=np.float64)
    if wav.ndim != 1:
        raise ValueError("expected mono audio (1-D array), got shape %s" % (wav.shape,))
    return wav


def rms_dbfs(wav):
    """RMS level in dB relative to full scale (amplitude 1.0 gives 0 dBFS).

    A full-scale sine therefore reads -3 dBFS. Silence reads about -240.

    Arguments
    ---------
    wav : array_like
        Mono audio.

    Returns
    -------
    float

    Example
    -------
    >>> round(rms_dbfs(np.full(100, 0.1)), 1)
    -20.0
    """
    wav = _as_float(wav)
    return float(10 * np.log10(np.mean(wav ** 2) + 1e-24)) if wav.size else -240.0


def file_seed(name, letter, seed=0):
    """Per-file random seed for one device, stable across runs and machines.

    Arguments
    ---------
    name : str
        Identifies the file, e.g. ``"yes/0a7c2a8d_nohash_0.wav"``.
    letter : str
        Device letter (``"M"``, ``"R"``, ``"U"``).
    seed : int
        Global seed of the rendering.

    Returns
    -------
    int
        A 63-bit integer for :func:`numpy.random.default_rng`.

    Example
    -------
    >>> file_seed("yes/a_nohash_0.wav", "M") == file_seed("yes/a_nohash_0.wav", "M")
    True
    >>> file_seed("yes/a_nohash_0.wav", "M") == file_seed("yes/a_nohash_0.wav", "R")
    False
    """
    digest = hashlib.sha256(("%d/%s/%s" % (seed, letter, name)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


class Stage:
    """Base class of the signal chain stages.

    A stage maps a mono float signal at :data:`SAMPLE_RATE` to a signal of the
    same length. Stochastic stages draw from ``rng`` (a
    :class:`numpy.random.Generator`); deterministic ones ignore it.

    Example
    -------
    >>> Gain(6.0)(np.ones(3)).round(3)
    array([1.995, 1.995, 1.995])
    """

    def __call__(self, wav, rng=None):
        wav = _as_float(wav)
        if wav.size == 0:
            return wav.copy()
        out = self.process(wav, rng if rng is not None else np.random.default_rng(0))
        return out[: wav.size]

    def process(self, wav, rng):  # pragma: no cover - abstract
        """Maps ``wav`` (non-empty, float64) to the stage's output; ``rng`` draws any randomness."""
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(
            "%s=%r" % (k, v) for k, v in vars(self).items() if not k.startswith("_")
        )
        return "%s(%s)" % (type(self).__name__, args)


class Gain(Stage):
    """Fixed gain in dB (a preamp setting).

    Arguments
    ---------
    db : float
        Gain in dB; positive amplifies.

    Example
    -------
    >>> Gain(-20.0)(np.array([0.5, -1.0]))
    array([ 0.05, -0.1 ])
    """

    def __init__(self, db):
        self.db = float(db)

    def process(self, wav, rng):
        """Scales by the gain."""
        return wav * 10 ** (self.db / 20)


class BandPass(Stage):
    """Butterworth band limits of a capsule and its electronics (causal IIR).

    Arguments
    ---------
    low_hz : float or None
        High-pass corner (the low cut); ``None`` for no low cut.
    high_hz : float or None
        Low-pass corner; ``None`` for no high cut.
    order : int
        Butterworth order of each edge (``6 * order`` dB per octave outside).

    Example
    -------
    >>> t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    >>> hum = np.sin(2 * np.pi * 60 * t)
    >>> out = BandPass(300, 3400, order=4)(hum)
    >>> rms_dbfs(out[4000:]) - rms_dbfs(hum[4000:]) < -40
    True
    """

    def __init__(self, low_hz=None, high_hz=None, order=4):
        if low_hz is None and high_hz is None:
            raise ValueError("BandPass needs low_hz, high_hz or both")
        self.low_hz = low_hz
        self.high_hz = high_hz
        self.order = int(order)
        nyq = SAMPLE_RATE / 2
        if low_hz is not None and high_hz is not None:
            self._sos = signal.butter(
                self.order, [low_hz / nyq, high_hz / nyq], btype="bandpass", output="sos"
            )
        elif low_hz is not None:
            self._sos = signal.butter(self.order, low_hz / nyq, btype="highpass", output="sos")
        else:
            self._sos = signal.butter(self.order, high_hz / nyq, btype="lowpass", output="sos")

    def process(self, wav, rng):
        """Filters with the Butterworth sections."""
        return signal.sosfilt(self._sos, wav)


class Peaking(Stage):
    """Peaking (bell) equaliser: a resonance (gain > 0) or a dip (gain < 0).

    The RBJ audio-EQ-cookbook biquad: ``gain_db`` at ``freq_hz``, unity gain far
    away from it, bandwidth set by ``q``.

    Arguments
    ---------
    freq_hz : float
        Centre frequency.
    gain_db : float
        Gain at the centre frequency.
    q : float
        Quality factor; larger is narrower.

    Example
    -------
    >>> t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    >>> tone = np.sin(2 * np.pi * 3000 * t)
    >>> out = Peaking(3000, 8.0, q=2.0)(tone)
    >>> round(rms_dbfs(out[2000:]) - rms_dbfs(tone[2000:]), 1)
    8.0
    """

    def __init__(self, freq_hz, gain_db, q=1.0):
        self.freq_hz = float(freq_hz)
        self.gain_db = float(gain_db)
        self.q = float(q)
        a = 10 ** (self.gain_db / 40)
        w0 = 2 * np.pi * self.freq_hz / SAMPLE_RATE
        alpha = np.sin(w0) / (2 * self.q)
        b = np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a])
        den = np.array([1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a])
        self._b, self._a = b / den[0], den / den[0]

    def process(self, wav, rng):
        """Filters with the peaking biquad."""
        return signal.lfilter(self._b, self._a, wav)


class Room(Stage):
    """Convolution with a shoebox room impulse response (``pyroomacoustics``).

    The image-source RIR is computed once per stage (on first use, or by
    :meth:`prepare`) and cached. It is shifted so that the direct path arrives
    after a few samples (the propagation delay is removed, so keywords stay in
    place) and scaled so that the direct path has unit gain; the reverberant
    tail is added on top.

    Arguments
    ---------
    dims : tuple of float
        Room size (x, y, z) in metres.
    source : tuple of float
        Talker position in metres.
    mic : tuple of float
        Microphone position in metres.
    rt60 : float
        Target reverberation time in seconds (Sabine), sets wall absorption
        and the image-source order.
    max_order : int or None
        Cap on the image-source order (``None``: Sabine's estimate, at most 40).

    Example
    -------
    >>> room = Room((3.0, 3.0, 2.5), (1.0, 1.0, 1.5), (2.0, 1.5, 1.2), rt60=0.2)
    >>> impulse = np.zeros(4000)
    >>> impulse[0] = 1.0
    >>> out = room(impulse)
    >>> len(out), round(float(np.abs(out).max()), 2)
    (4000, 1.0)
    >>> bool(np.abs(out[800:]).max() > 1e-3)  # reverberation 50 ms later
    True
    """

    def __init__(self, dims, source, mic, rt60=0.3, max_order=None):
        self.dims = tuple(float(v) for v in dims)
        self.source = tuple(float(v) for v in source)
        self.mic = tuple(float(v) for v in mic)
        self.rt60 = float(rt60)
        self.max_order = max_order
        self._rir = None

    @property
    def rir(self):
        """The (cached) impulse response, direct path at unit gain."""
        if self._rir is None:
            self._rir = self._compute()
        return self._rir

    def prepare(self):
        """Compute the impulse response now (e.g. before forking workers)."""
        return self.rir

    def _compute(self):
        import pyroomacoustics as pra

        absorption, order = pra.inverse_sabine(self.rt60, list(self.dims))
        if self.max_order is not None:
            order = self.max_order
        order = int(min(order, 40))
        room = pra.ShoeBox(
            list(self.dims),
            fs=SAMPLE_RATE,
            materials=pra.Material(absorption),
            max_order=order,
        )
        room.add_source(list(self.source))
        room.add_microphone(list(self.mic))
        room.compute_rir()
        rir = np.asarray(room.rir[0][0], dtype=np.float64)
        # Direct path: the first image arrives first, and is the strongest.
        dist = np.linalg.norm(np.subtract(self.source, self.mic))
        half = pra.constants.get("frac_delay_length") // 2
        direct = int(round(dist / pra.constants.get("c") * SAMPLE_RATE)) + half
        direct = int(np.argmax(np.abs(rir[max(0, direct - 4) : direct + 5]))) + max(0, direct - 4)
        rir = rir[max(0, direct - 8) :]
        return rir / (np.abs(rir).max() + _EPS)

    def process(self, wav, rng):
        """Convolves with the room impulse response, cut to the input's length."""
        return signal.fftconvolve(wav, self.rir)[: wav.size]


def _colored_noise(n, color, rng):
    white = rng.standard_normal(n)
    if color == "white":
        return white
    exponent = {"pink": 0.5, "brown": 1.0}.get(color)
    if exponent is None:
        raise ValueError("unknown noise colour %r (white, pink, brown)" % color)
    spec = np.fft.rfft(white)
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    spec /= np.maximum(freqs, 20.0) ** exponent  # floor: no DC blow-up
    return np.fft.irfft(spec, n)


class NoiseFloor(Stage):
    """Additive stationary noise: self-noise of the mic or its preamp.

    Give either an absolute level (``dbfs``, the noise RMS in dB re full scale:
    the device's fixed self-noise) or a signal-to-noise ratio (``snr_db``,
    against the mean power of the whole input). The noise is scaled to hit
    the requested level exactly.

    Arguments
    ---------
    dbfs : float or None
        RMS level of the noise in dBFS.
    snr_db : float or None
        Signal-to-noise ratio in dB (silent input gets no noise).
    color : str
        ``"white"``, ``"pink"`` (-3 dB/octave) or ``"brown"`` (-6 dB/octave).

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> clean = 0.1 * np.sin(np.arange(8000) / 5.0)
    >>> noisy = NoiseFloor(snr_db=20.0)(clean, rng)
    >>> round(rms_dbfs(clean) - rms_dbfs(noisy - clean), 3)
    20.0
    >>> round(rms_dbfs(NoiseFloor(dbfs=-50.0, color="pink")(np.zeros(8000), rng)), 3)
    -50.0
    """

    def __init__(self, dbfs=None, snr_db=None, color="white"):
        if (dbfs is None) == (snr_db is None):
            raise ValueError("NoiseFloor needs exactly one of dbfs and snr_db")
        self.dbfs = dbfs
        self.snr_db = snr_db
        self.color = color
        _colored_noise(8, color, np.random.default_rng(0))  # validate colour

    def process(self, wav, rng):
        """Adds zero-mean noise of the colour, scaled to the level or SNR."""
        noise = _colored_noise(wav.size, self.color, rng)
        noise -= noise.mean()
        if self.dbfs is not None:
            target = self.dbfs
        else:
            power = np.mean(wav ** 2)
            if power <= 0:
                return wav.copy()
            target = 10 * np.log10(power) - self.snr_db
        noise *= 10 ** ((target - rms_dbfs(noise)) / 20)
        return wav + noise


class Hum(Stage):
    """Mains hum: a fundamental and its harmonics with random phases.

    Arguments
    ---------
    freq_hz : float
        Mains frequency (50 or 60).
    dbfs : float
        RMS level of the whole hum in dBFS.
    harmonics : sequence of float
        Relative amplitudes of ``freq_hz * 1, 2, 3, ...``.

    Example
    -------
    >>> hum = Hum(50, dbfs=-40.0)(np.zeros(SAMPLE_RATE))
    >>> round(rms_dbfs(hum), 3)
    -40.0
    >>> spectrum = np.abs(np.fft.rfft(hum))  # 1 Hz bins
    >>> int(np.argmax(spectrum))
    50
    """

    def __init__(self, freq_hz=50.0, dbfs=-40.0, harmonics=(1.0, 0.5, 0.35, 0.2)):
        self.freq_hz = float(freq_hz)
        self.dbfs = float(dbfs)
        self.harmonics = tuple(float(h) for h in harmonics)

    def process(self, wav, rng):
        """Adds the hum, its harmonics at phases drawn from ``rng``."""
        t = np.arange(wav.size) / SAMPLE_RATE
        hum = np.zeros(wav.size)
        for k, amp in enumerate(self.harmonics, start=1):
            phase = rng.uniform(0, 2 * np.pi)
            hum += amp * np.sin(2 * np.pi * k * self.freq_hz * t + phase)
        total = np.sqrt(sum(a * a for a in self.harmonics) / 2)  # RMS of the sum
        return wav + hum * (10 ** (self.dbfs / 20) / total)


class Compressor(Stage):
    """AGC-like dynamic range compression with make-up gain.

    A smoothed RMS envelope (one-pole, time constant ``window_ms``) drives a
    static curve: above ``threshold_db`` the level grows ``ratio`` times
    slower; then ``makeup_db`` lifts everything, so quiet parts (and the noise
    floor) come up and loud parts go down, as with a voice-board AGC.

    Arguments
    ---------
    threshold_db : float
        Envelope level (dBFS) where compression starts.
    ratio : float
        Compression ratio above the threshold (``>= 1``).
    makeup_db : float
        Gain added after compression.
    window_ms : float
        Time constant of the envelope follower.

    Example
    -------
    >>> t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    >>> tone = np.sin(2 * np.pi * 440 * t)
    >>> loud, quiet = 0.5 * tone, 0.005 * tone  # 40 dB apart
    >>> comp = Compressor(threshold_db=-30.0, ratio=4.0, makeup_db=10.0)
    >>> spread = rms_dbfs(comp(loud)[4000:]) - rms_dbfs(comp(quiet)[4000:])
    >>> 15 < spread < 25
    True
    """

    def __init__(self, threshold_db=-30.0, ratio=4.0, makeup_db=10.0, window_ms=10.0):
        if ratio < 1:
            raise ValueError("ratio must be >= 1")
        self.threshold_db = float(threshold_db)
        self.ratio = float(ratio)
        self.makeup_db = float(makeup_db)
        self.window_ms = float(window_ms)

    def process(self, wav, rng):
        """Applies the gain curve of the smoothed power envelope."""
        coef = np.exp(-1000.0 / (self.window_ms * SAMPLE_RATE))
        power = signal.lfilter([1 - coef], [1, -coef], wav ** 2, zi=[coef * wav[0] ** 2])[0]
        level = 10 * np.log10(np.maximum(power, _EPS))
        over = np.maximum(level - self.threshold_db, 0.0)
        gain_db = self.makeup_db - over * (1 - 1 / self.ratio)
        return wav * 10 ** (gain_db / 20)


class Clip(Stage):
    """Amplitude clipping: ``"soft"`` saturation (tanh) or ``"hard"`` (ADC).

    The output peak never exceeds ``threshold``. Soft clipping is
    ``threshold * tanh(x / threshold)``: almost linear for small signals.

    Arguments
    ---------
    threshold : float
        Largest output amplitude.
    mode : str
        ``"soft"`` or ``"hard"``.

    Example
    -------
    >>> Clip(0.5, "hard")(np.array([-2.0, 0.1, 0.7]))
    array([-0.5,  0.1,  0.5])
    >>> float(np.abs(Clip(0.5, "soft")(np.array([10.0]))).max()) <= 0.5
    True
    """

    def __init__(self, threshold=1.0, mode="hard"):
        if mode not in ("soft", "hard"):
            raise ValueError("mode must be 'soft' or 'hard', got %r" % mode)
        self.threshold = float(threshold)
        self.mode = mode

    def process(self, wav, rng):
        """Clips hard or saturates softly at the threshold."""
        if self.mode == "hard":
            return np.clip(wav, -self.threshold, self.threshold)
        return self.threshold * np.tanh(wav / self.threshold)


class MuLawCodec(Stage):
    """Codec round trip: resample down, mu-law companding and quantisation, back up.

    Like G.711 telephony: a ``rate`` Hz path (anti-alias filtered, so nothing
    above ``rate / 2`` survives) with ``bits``-bit mu-law samples, then
    resampled back to :data:`SAMPLE_RATE`.

    Arguments
    ---------
    rate : int
        Sample rate of the codec path.
    mu : float
        Mu-law compression parameter (255 in G.711).
    bits : int
        Bits per coded sample.

    Example
    -------
    >>> x = np.random.default_rng(0).standard_normal(SAMPLE_RATE) * 0.1
    >>> y = MuLawCodec(8000)(x)
    >>> spec = np.abs(np.fft.rfft(y)) ** 2  # 1 Hz bins
    >>> bool(spec[4100:].sum() / spec.sum() < 1e-3)
    True
    """

    def __init__(self, rate=8000, mu=255.0, bits=8):
        self.rate = int(rate)
        self.mu = float(mu)
        self.bits = int(bits)

    def encode(self, wav):
        """Mu-law compand and quantise to integer codes in ``[-2**(bits-1)+1, 2**(bits-1)-1]``."""
        x = np.clip(wav, -1.0, 1.0)
        y = np.sign(x) * np.log1p(self.mu * np.abs(x)) / np.log1p(self.mu)
        levels = 2 ** (self.bits - 1) - 1
        return np.round(y * levels).astype(np.int32)

    def decode(self, codes):
        """Inverse of :meth:`encode` (up to the quantisation error)."""
        y = np.asarray(codes, dtype=np.float64) / (2 ** (self.bits - 1) - 1)
        return np.sign(y) * np.expm1(np.abs(y) * np.log1p(self.mu)) / self.mu

    def _filter(self):
        # Sharp linear-phase anti-alias / anti-image low-pass, run at the
        # common polyphase rate in both directions (resample_poly's default
        # filter lets ~0.2% of the power leak above rate/2). resample_poly
        # applies the interpolation gain itself.
        if getattr(self, "_fir", None) is None:
            g = gcd(self.rate, SAMPLE_RATE)
            fs = self.rate * SAMPLE_RATE // g
            cutoff = 0.45 * min(self.rate, SAMPLE_RATE)
            taps = 80 * max(self.rate, SAMPLE_RATE) // g + 1
            self._fir = signal.firwin(taps, cutoff, window=("kaiser", 8.0), fs=fs)
        return self._fir

    def _resample(self, wav, up, down):
        # Zero-phase FFT filtering for integer ratios (much faster than
        # resample_poly's direct form with a long filter); same result.
        h = self._filter()
        if up == 1:
            return signal.fftconvolve(wav, h, mode="same")[::down]
        if down == 1:
            stuffed = np.zeros(wav.size * up)
            stuffed[::up] = wav
            return signal.fftconvolve(stuffed, h * up, mode="same")
        return signal.resample_poly(wav, up, down, window=h)

    def process(self, wav, rng):
        """Resamples to the codec rate, codes and decodes, resamples back."""
        g = gcd(self.rate, SAMPLE_RATE)
        up, down = self.rate // g, SAMPLE_RATE // g
        low = self._resample(wav, up, down)
        low = self.decode(self.encode(low))
        out = self._resample(low, down, up)
        if out.size < wav.size:
            out = np.pad(out, (0, wav.size - out.size))
        return out


@dataclass
class Device:
    """A simulated recording device: a name, a Mic2Mic letter, an output folder
    and the chain of stages the clean signal goes through.

    After the chain the output is hard-limited to ``[-1, 1]`` (the ADC's
    full scale); it keeps the input's length and :data:`SAMPLE_RATE`.

    Arguments
    ---------
    name : str
        Human-readable name.
    letter : str
        Mic2Mic's domain letter.
    folder : str
        Default folder name of the device in a rendered corpus.
    stages : list of Stage
        Applied in order.
    description : str
        One line about the chain.

    Example
    -------
    >>> dev = Device("toy", "T", "toy", [BandPass(300, 3400), NoiseFloor(dbfs=-40.0)])
    >>> x = 0.3 * np.sin(np.arange(1600) / 3.0)
    >>> y = dev(x, seed=1)
    >>> y.shape, bool(np.array_equal(y, dev(x, seed=1))), bool(np.abs(y).max() <= 1)
    ((1600,), True, True)
    """

    name: str
    letter: str
    folder: str
    stages: list = field(default_factory=list)
    description: str = ""

    def prepare(self):
        """Precompute what the stages cache (room impulse responses).

        Example
        -------
        >>> DEVICES["U"].prepare() is DEVICES["U"]
        True
        """
        for stage in self.stages:
            if hasattr(stage, "prepare"):
                stage.prepare()
        return self

    def __call__(self, wav, seed=0, sample_rate=SAMPLE_RATE):
        """Render ``wav`` through the device.

        Arguments
        ---------
        wav : array_like
            Clean mono audio.
        seed : int
            Seed of the stochastic stages (see :func:`file_seed`).
        sample_rate : int
            Rate of ``wav``; other rates are resampled to :data:`SAMPLE_RATE`
            first (the output then has the resampled length).

        Returns
        -------
        numpy.ndarray
            float64 audio in ``[-1, 1]`` at :data:`SAMPLE_RATE`.
        """
        wav = _as_float(wav)
        if sample_rate != SAMPLE_RATE:
            g = gcd(int(sample_rate), SAMPLE_RATE)
            wav = signal.resample_poly(wav, SAMPLE_RATE // g, int(sample_rate) // g)
        rng = np.random.default_rng(seed)
        out = wav
        for stage in self.stages:
            out = stage(out, rng)
        return np.clip(out, -1.0, 1.0)


def matrix_voice():
    """Matrix Voice (``M``): MEMS mic array board in a small reverberant room.

    Small room (4 x 3.5 x 2.7 m, RT60 0.35 s, talker 1.3 m away), strong
    MEMS low cut (4th-order high-pass at 250 Hz) and 7.2 kHz roll-off,
    +7 dB presence peak at 3 kHz, +6 dB port resonance at 6.5 kHz,
    -6 dB board gain (headroom for the reverberant sum), white self-noise at
    -58 dBFS.

    Example
    -------
    >>> matrix_voice().letter
    'M'
    """
    return Device(
        name="Matrix Voice",
        letter="M",
        folder="matrix",
        stages=[
            Room((4.0, 3.5, 2.7), source=(1.0, 1.5, 1.5), mic=(2.2, 1.9, 1.0), rt60=0.35),
            BandPass(250.0, 7200.0, order=4),
            Peaking(3000.0, 7.0, q=1.5),
            Peaking(6500.0, 6.0, q=3.0),
            Gain(-6.0),
            NoiseFloor(dbfs=-58.0, color="white"),
        ],
        description="small room, 250 Hz low cut, presence + 6.5 kHz resonance, -58 dBFS hiss",
    )


def respeaker():
    """ReSpeaker (``R``): far-field board, AGC and an 8 kHz mu-law link.

    Larger room (6.5 x 5 x 3 m, RT60 0.5 s, talker 2.3 m away), gentle
    2nd-order band 120 Hz - 6 kHz, +5 dB low-mid resonance at 900 Hz and a
    -6 dB dip at 2.5 kHz, pink noise at -62 dBFS, AGC (threshold -35 dBFS,
    4:1, +10 dB make-up, which lifts the noise), then an 8 kHz 8-bit
    mu-law codec round trip (nothing above 4 kHz).

    Example
    -------
    >>> [type(s).__name__ for s in respeaker().stages][-1]
    'MuLawCodec'
    """
    return Device(
        name="ReSpeaker",
        letter="R",
        folder="respeaker",
        stages=[
            Room((6.5, 5.0, 3.0), source=(1.5, 2.0, 1.6), mic=(3.6, 2.8, 0.9), rt60=0.5),
            BandPass(120.0, 6000.0, order=2),
            Peaking(900.0, 5.0, q=1.2),
            Peaking(2500.0, -6.0, q=2.0),
            NoiseFloor(dbfs=-62.0, color="pink"),
            Compressor(threshold_db=-35.0, ratio=4.0, makeup_db=10.0, window_ms=10.0),
            MuLawCodec(rate=8000, mu=255.0, bits=8),
        ],
        description="larger room, 120 Hz-6 kHz, 900 Hz peak, AGC, 8 kHz mu-law codec",
    )


def usb_mic():
    """USB (``U``): cheap close-talk USB microphone.

    No room (close talk), narrow 4th-order band 300-3400 Hz, +6 dB capsule
    resonance at 1.8 kHz, +8 dB preamp gain into tanh saturation at 0.7,
    50 Hz mains hum with harmonics at -38 dBFS, white noise at -45 dBFS, ADC
    hard clip at 0.95.

    Example
    -------
    >>> usb_mic().folder
    'usb'
    """
    return Device(
        name="USB",
        letter="U",
        folder="usb",
        stages=[
            BandPass(300.0, 3400.0, order=4),
            Peaking(1800.0, 6.0, q=2.0),
            Gain(8.0),
            Clip(0.7, "soft"),
            Hum(50.0, dbfs=-38.0),
            NoiseFloor(dbfs=-45.0, color="white"),
            Clip(0.95, "hard"),
        ],
        description="close talk, 300-3400 Hz, 1.8 kHz peak, overdriven, 50 Hz hum, -45 dBFS hiss",
    )


DEVICES = {"M": matrix_voice(), "R": respeaker(), "U": usb_mic()}
"""Registry of the simulated Mic2Mic devices, keyed by domain letter."""

DEFAULT_FOLDERS = {letter: dev.folder for letter, dev in DEVICES.items()}
"""Default microphone folder of each device letter in a rendered corpus."""
