"""Command-line logging: warnings and errors only, SpeechBrain's loggers included."""

import logging


def quiet(level=logging.WARNING):
    """Sets the root logger and every ``speechbrain`` logger to ``level``.

    SpeechBrain gives its module loggers their own level (INFO) when they are
    created, so a root level alone does not silence them; loggers created
    later start at ``level`` through their parent.

    Example
    -------
    >>> noisy = logging.getLogger("speechbrain.example")
    >>> noisy.setLevel(logging.INFO)
    >>> quiet()
    >>> noisy.getEffectiveLevel() == logging.WARNING
    True
    """
    logging.basicConfig(level=level, force=True)
    for name in list(logging.root.manager.loggerDict):
        if name == "speechbrain" or name.startswith("speechbrain."):
            logging.getLogger(name).setLevel(level)
