"""Command-line logging: warnings and errors only, SpeechBrain's loggers included."""

import logging
import os

# SpeechBrain warns at import when torchvision (its figure saver) is missing; no
# recipe here saves figures, and the install leaves torchvision out.
FIGURE_SAVER_WARNING = "torchvision is not available"


def _not_the_figure_saver_warning(record):
    return FIGURE_SAVER_WARNING not in record.getMessage()


def quiet(level=logging.WARNING):
    """Sets the root logger and every ``speechbrain`` logger to ``level``.

    SpeechBrain gives each module logger its own level when it is created
    (``SB_LOG_LEVEL``, INFO by default), so a root level alone does not
    silence them: the existing ones are set here, and ``SB_LOG_LEVEL`` makes
    those created later (and in worker processes) start at ``level``. The one
    warning dropped at any level is SpeechBrain's missing figure saver.

    Example
    -------
    >>> root, env = logging.getLogger().level, os.environ.get("SB_LOG_LEVEL")
    >>> noisy = logging.getLogger("speechbrain.example")
    >>> noisy.setLevel(logging.INFO)
    >>> quiet()
    >>> noisy.getEffectiveLevel() == logging.WARNING, os.environ["SB_LOG_LEVEL"]
    (True, 'WARNING')
    >>> logging.getLogger("speechbrain.utils.train_logger").filter(logging.makeLogRecord(
    ...     {"msg": FIGURE_SAVER_WARNING + " - cannot save figures"}))
    False
    >>> logging.getLogger().setLevel(root)  # leave the caller's logging as it was
    >>> _ = os.environ.pop("SB_LOG_LEVEL") if env is None else os.environ.update(SB_LOG_LEVEL=env)
    """
    logging.basicConfig(level=level)  # a handler, unless the application has one
    logging.getLogger().setLevel(level)
    os.environ["SB_LOG_LEVEL"] = logging.getLevelName(level)
    for name in list(logging.root.manager.loggerDict):
        if name == "speechbrain" or name.startswith("speechbrain."):
            logging.getLogger(name).setLevel(level)
    figures = logging.getLogger("speechbrain.utils.train_logger")
    if _not_the_figure_saver_warning not in figures.filters:
        figures.addFilter(_not_the_figure_saver_warning)
