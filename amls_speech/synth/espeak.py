"""A small ctypes wrapper around the eSpeak NG speech synthesiser.

The shared library and its voice data come from the pip package
``espeakng-loader`` (libespeak-ng 1.52). eSpeak NG is a formant synthesiser:
it is fast (about a millisecond per word) and deterministic, which makes it a
convenient source of *synthetic* speech for the embedded stand-in corpora. The
audio is plainly synthetic and sounds like it.

The library keeps process-global state: the module loads its own private copy
of it once per process (lazily, on first use), every call into it holds one
lock, and by default the copy is reloaded before each synthesis so that the
samples depend only on the arguments (see :class:`EspeakSynth`).

Example
-------
>>> tts = EspeakSynth()
>>> tts.sample_rate
22050
>>> wav = tts.synth("yes", voice="en-us+m3")
>>> wav.dtype, wav.ndim
(dtype('float32'), 1)
>>> 0.1 < len(wav) / tts.sample_rate < 1.5
True
"""

import atexit
import ctypes
import os
import shutil
import tempfile
import threading

import numpy as np

__all__ = [
    "EspeakError",
    "EspeakSynth",
    "list_voice_variants",
    "voice_variant_genders",
]

# espeak_AUDIO_OUTPUT (speak_lib.h)
AUDIO_OUTPUT_PLAYBACK = 0
AUDIO_OUTPUT_RETRIEVAL = 1
AUDIO_OUTPUT_SYNCHRONOUS = 2
AUDIO_OUTPUT_SYNCH_PLAYBACK = 3

# espeak_PARAMETER
espeakRATE = 1
espeakVOLUME = 2
espeakPITCH = 3
espeakRANGE = 4

# espeak_POSITION_TYPE
POS_CHARACTER = 1

# flags of espeak_Synth
espeakCHARS_UTF8 = 1
espeakSSML = 0x10

# options of espeak_Initialize
espeakINITIALIZE_DONT_EXIT = 0x8000

# espeak_ERROR
EE_OK = 0

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class EspeakError(RuntimeError):
    """Raised when libespeak-ng cannot be loaded or reports an error.

    Example
    -------
    >>> isinstance(EspeakError("x"), RuntimeError)
    True
    """


def _default_paths():
    try:
        import espeakng_loader
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise EspeakError(
            "eSpeak NG is not available: install the pip package "
            "'espeakng-loader' (it ships libespeak-ng and its voice data)"
        ) from e
    return espeakng_loader.get_library_path(), espeakng_loader.get_data_path()


def _private_copy(library_path):
    """Copies libespeak-ng once per process to a private temporary file.

    Loading the copy gives this module its own instance of the library (its
    own C statics), which it can unload and reload at will without touching
    a copy that another package of the process may have loaded.
    """
    copy = _PRIVATE_COPIES.get(library_path)
    if copy is None or not os.path.exists(copy):
        folder = tempfile.mkdtemp(prefix="amls-espeak-")
        copy = os.path.join(folder, "libespeak-ng-amls-private.so")
        try:
            shutil.copyfile(library_path, copy)
        except OSError as e:
            shutil.rmtree(folder, ignore_errors=True)
            raise EspeakError("cannot load libespeak-ng from %s: %s" % (library_path, e)) from e
        atexit.register(shutil.rmtree, folder, True)
        _PRIVATE_COPIES[library_path] = copy
    return copy


_PRIVATE_COPIES = {}


class _Engine:
    """The module's libespeak-ng instance (one per process, behind one lock).

    eSpeak keeps synthesis state in C statics that no API call resets (pitch
    flutter phase, gain control, roughness cycle counter), so the audio of a
    call depends slightly on the calls before it. With ``reset`` the library
    is unloaded and loaded afresh before a synthesis (about 4 ms), which makes
    the output a pure function of the arguments.
    """

    _instance = None
    _create_lock = threading.Lock()

    @classmethod
    def get(cls, library_path=None, data_path=None):
        """The process's engine, created at the first call; other paths than its own raise EspeakError."""
        with cls._create_lock:
            if cls._instance is None:
                cls._instance = cls(library_path, data_path)
            elif (library_path is not None and library_path != cls._instance.library_path) or (
                data_path is not None and data_path != cls._instance.data_path
            ):
                raise EspeakError(
                    "libespeak-ng is process-global and was already initialised "
                    "from %s with data %s"
                    % (cls._instance.library_path, cls._instance.data_path)
                )
            return cls._instance

    def __init__(self, library_path, data_path):
        if library_path is None or data_path is None:
            default_lib, default_data = _default_paths()
            library_path = library_path or default_lib
            data_path = data_path or default_data
        if os.path.isdir(os.path.join(data_path, "espeak-ng-data")):
            data_path = os.path.join(data_path, "espeak-ng-data")
        if not os.path.isdir(data_path):
            raise EspeakError("eSpeak NG data folder %s does not exist" % data_path)
        self.library_path = library_path
        self.data_path = data_path
        self.lock = threading.RLock()
        self.lib = None
        self._fresh = False
        self._voice = None
        self._chunks = []
        # Keep a reference: the C library holds only a raw pointer to it.
        self._callback = _SYNTH_CALLBACK(self._on_samples)
        try:
            self._srand = ctypes.CDLL(None).srand
            self._srand.restype = None
            self._srand.argtypes = [ctypes.c_uint]
        except (OSError, AttributeError, TypeError):  # pragma: no cover - non-POSIX
            self._srand = None
        self.sample_rate = None
        with self.lock:
            self._load()

    def _load(self):
        path = _private_copy(self.library_path)
        try:
            lib = ctypes.CDLL(path, mode=getattr(os, "RTLD_LOCAL", 0) | getattr(os, "RTLD_NOW", 2))
        except OSError as e:
            raise EspeakError("cannot load libespeak-ng from %s: %s" % (self.library_path, e)) from e
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.POINTER(ctypes.c_uint),
            ctypes.c_void_p,
        ]
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Terminate.restype = ctypes.c_int
        lib.espeak_Terminate.argtypes = []
        try:
            lib.espeak_ng_SetRandSeed.restype = ctypes.c_int
            lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
            self._has_seed = True
        except AttributeError:  # pragma: no cover - libespeak-ng < 1.52
            self._has_seed = False
        # espeak_Initialize accepts the espeak-ng-data folder or its parent.
        rate = lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS,
            500,  # buffer length in ms: fewer, larger callbacks
            os.fsencode(self.data_path),
            espeakINITIALIZE_DONT_EXIT,
        )
        if rate <= 0:
            _ctypes_dlclose(lib)
            raise EspeakError(
                "espeak_Initialize failed (returned %d) with data path %s" % (rate, self.data_path)
            )
        lib.espeak_SetSynthCallback(self._callback)
        self.lib = lib
        self.sample_rate = int(rate)
        self._voice = None
        self._fresh = True

    def reload(self):
        """Unloads and loads the library afresh, unless no synthesis has run since it was loaded."""
        with self.lock:
            if not self._fresh:
                self._unload()
                self._load()

    def _unload(self):
        lib, self.lib = self.lib, None
        if lib is not None:
            lib.espeak_Terminate()
            _ctypes_dlclose(lib)

    def _on_samples(self, wav, numsamples, events):
        if numsamples > 0 and wav:
            self._chunks.append(ctypes.string_at(wav, numsamples * 2))
        return 0  # continue synthesis

    def _check(self, code, what):
        if code != EE_OK:
            raise EspeakError("%s failed with eSpeak error code %d" % (what, code))

    def synth(self, text, voice, rate, pitch, range_, volume, ssml, seed, reset):
        """Speaks ``text`` with these voice settings and noise seed; float32 samples in [-1, 1).

        ``reset``: a freshly loaded library first, so the output depends on the arguments only.
        """
        data = text.encode("utf-8") + b"\0"
        flags = espeakCHARS_UTF8 | (espeakSSML if ssml else 0)
        with self.lock:
            if self.lib is None or (reset and not self._fresh):
                self._unload()
                self._load()
            self._fresh = False
            if voice != self._voice:
                self._voice = None
                code = self.lib.espeak_SetVoiceByName(voice.encode("utf-8"))
                if code != EE_OK:
                    raise EspeakError(
                        "unknown eSpeak voice %r (error %d); variants: see "
                        "list_voice_variants()" % (voice, code)
                    )
                self._voice = voice
            for param, value in (
                (espeakRATE, rate),
                (espeakVOLUME, volume),
                (espeakPITCH, pitch),
                (espeakRANGE, range_),
            ):
                self._check(self.lib.espeak_SetParameter(param, int(value), 0), "espeak_SetParameter")
            # Breath noise is random: reseed eSpeak's generator and libc rand().
            seed = int(seed) & 0x7FFFFFFF
            if self._has_seed:
                self.lib.espeak_ng_SetRandSeed(seed)
            if self._srand is not None:
                self._srand(seed)
            self._chunks = []
            try:
                self._check(
                    self.lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, flags, None, None),
                    "espeak_Synth",
                )
                self._check(self.lib.espeak_Synchronize(), "espeak_Synchronize")
                raw = b"".join(self._chunks)
            finally:
                self._chunks = []
        return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0


def _ctypes_dlclose(lib):
    try:
        import _ctypes

        _ctypes.dlclose(lib._handle)
    except (ImportError, AttributeError, OSError):  # pragma: no cover - non-POSIX
        pass


class EspeakSynth:
    """Text to speech with eSpeak NG (synthetic speech, float32 output).

    All instances share the module's one libespeak-ng instance (a private
    copy of the shared library, loaded on first use); calls are serialised
    with a lock.

    eSpeak keeps some synthesis state in C statics that no API call resets,
    so its output depends slightly on the calls made before. With ``reset``
    (the default) the library is reloaded before every call (about 4 ms), so
    equal arguments always give equal samples; ``reset=False`` is about five
    times faster for short words, deterministic only for a fixed sequence of
    calls starting from a fresh load.

    Arguments
    ---------
    library_path : str, optional
        Path of libespeak-ng; default: the one shipped by ``espeakng-loader``.
    data_path : str, optional
        Path of the ``espeak-ng-data`` folder; default: ``espeakng-loader``'s.
    reset : bool
        Reload the library before each synthesis (pure, reproducible output).

    Example
    -------
    >>> tts = EspeakSynth()
    >>> a = tts.synth("seven", voice="en-us+f2", rate=175, pitch=60)
    >>> _ = tts.synth("nine", voice="en-us+m1")
    >>> b = tts.synth("seven", voice="en-us+f2", rate=175, pitch=60)
    >>> bool((a == b).all())  # equal arguments (and seed): equal samples
    True
    >>> c = tts.synth("seven", voice="en-us+f2", rate=175, pitch=60, seed=1)
    >>> len(c) == len(a) and bool((a != c).any())  # f2 is breathy: the seed matters
    True
    >>> slow = tts.synth('<speak><prosody rate="50%">seven</prosody></speak>',
    ...                  voice="en-us+f2", ssml=True)
    >>> len(slow) > 1.3 * len(a)
    True
    """

    def __init__(self, library_path=None, data_path=None, reset=True):
        self._engine = _Engine.get(library_path, data_path)
        self.reset = bool(reset)

    def reload(self):
        """Reloads the library, so that the next call starts from a fresh state.

        With ``reset=False``, call this before a sequence of calls that must
        be reproducible on its own.

        Example
        -------
        >>> tts = EspeakSynth(reset=False)
        >>> tts.reload()
        >>> a = tts.synth("wow", voice="en-us+m1")
        >>> tts.reload()
        >>> bool((a == tts.synth("wow", voice="en-us+m1")).all())
        True
        """
        self._engine.reload()

    def _variants(self):
        engine = self._engine
        if getattr(engine, "variants", None) is None:
            engine.variants = list_voice_variants(data_path=engine.data_path)
        return engine.variants

    @property
    def sample_rate(self):
        """Output sample rate in Hz, as reported by ``espeak_Initialize`` (22050)."""
        return self._engine.sample_rate

    @property
    def data_path(self):
        """Path of the ``espeak-ng-data`` folder in use."""
        return self._engine.data_path

    def synth(self, text, voice="en-us", rate=175, pitch=50, range=50, volume=100, ssml=False,
              seed=0):
        """Synthesises ``text`` and returns the waveform.

        Arguments
        ---------
        text : str
            Text to speak, or an SSML document when ``ssml`` is true (for
            example ``<speak><prosody pitch="+20%" rate="120%">yes</prosody></speak>``).
        voice : str
            eSpeak voice name, optionally with a variant: ``"en-us+m3"``,
            ``"en-us+f2"``, ``"en-us+Annie"`` (see :func:`list_voice_variants`).
        rate : int
            Speaking rate in words per minute (80..450).
        pitch : int
            Base pitch, 0..100 (50 is the voice's normal pitch).
        range : int
            Pitch range, 0..100 (0 is monotone).
        volume : int
            Amplitude, 0..200 (100 is normal).
        ssml : bool
            Interpret ``text`` as SSML.
        seed : int
            Seed of eSpeak's noise generators (breathy variants such as
            ``f2`` add random noise). eSpeak's own generator and libc's
            ``rand()`` are both reseeded (this resets libc's ``rand()`` state
            of the process).

        Returns
        -------
        numpy.ndarray
            Mono float32 samples in [-1, 1) at :attr:`sample_rate`.

        Example
        -------
        >>> tts = EspeakSynth()
        >>> low = tts.synth("go", voice="en-us+m3", pitch=20)
        >>> high = tts.synth("go", voice="en-us+m3", pitch=80)
        >>> low.shape != high.shape or bool((low != high).any())
        True
        """
        if not isinstance(text, str):
            raise TypeError("text must be a str, got %r" % type(text))
        if "+" in voice:
            # eSpeak silently ignores an unknown variant: catch typos here.
            variant = voice.split("+", 1)[1]
            if variant not in self._variants():
                raise EspeakError(
                    "unknown eSpeak voice variant %r in %r; variants: %s"
                    % (variant, voice, ", ".join(self._variants()))
                )
        return self._engine.synth(text, voice, rate, pitch, range, volume, ssml, seed, self.reset)


def _default_data_path(data_path):
    if data_path is None:
        data_path = _default_paths()[1]
    return data_path


def voice_variant_genders(data_path=None):
    """Maps each eSpeak NG voice variant name to its declared gender.

    Reads the ``gender`` line of every file under ``espeak-ng-data/voices/!v``.

    Arguments
    ---------
    data_path : str, optional
        ``espeak-ng-data`` folder; default: the one of ``espeakng-loader``.

    Returns
    -------
    dict
        Variant name -> ``"male"``, ``"female"`` or ``None`` (not declared).

    Example
    -------
    >>> g = voice_variant_genders()
    >>> g["m3"], g["f2"], g["Annie"]
    ('male', 'female', 'female')
    """
    folder = os.path.join(_default_data_path(data_path), "voices", "!v")
    genders = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            continue
        gender = None
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0].lower() == "gender":
                    value = parts[1].lower()
                    if value in ("male", "female"):
                        gender = value
                    break
        genders[name] = gender
    return genders


def list_voice_variants(gender=None, data_path=None):
    """Lists the eSpeak NG voice variant names (files under ``voices/!v``).

    A variant is appended to a language voice with ``+``: ``"en-us+" + name``.

    Arguments
    ---------
    gender : str, optional
        ``"male"`` or ``"female"``: only the variants declaring that gender.
    data_path : str, optional
        ``espeak-ng-data`` folder; default: the one of ``espeakng-loader``.

    Returns
    -------
    list of str
        Sorted variant names.

    Example
    -------
    >>> "m1" in list_voice_variants("male")
    True
    >>> "f5" in list_voice_variants("female"), "f5" in list_voice_variants("male")
    (True, False)
    >>> len(list_voice_variants()) > 50
    True
    """
    if gender not in (None, "male", "female"):
        raise ValueError("gender must be None, 'male' or 'female', got %r" % (gender,))
    genders = voice_variant_genders(data_path)
    return [n for n, g in genders.items() if gender is None or g == gender]
