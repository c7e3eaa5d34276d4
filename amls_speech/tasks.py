"""The paper's adaptation tasks: short name -> (source domain, target domain)."""

TASKS = {
    "M2F": ("male", "female"),
    "F2M": ("female", "male"),
    "M2R": ("M", "R"),
    "U2M": ("U", "M"),
    "C2R": ("crema_d", "ravdess"),
}


def source_domain(task):
    """Source domain of a task name.

    Example
    -------
    >>> source_domain("F2M")
    'female'
    """
    return _lookup(task)[0]


def target_domain(task):
    """Target domain of a task name.

    Example
    -------
    >>> target_domain("M2R")
    'R'
    """
    return _lookup(task)[1]


def _lookup(task):
    if task not in TASKS:
        raise ValueError("unknown task %r; known tasks: %s" % (task, ", ".join(TASKS)))
    return TASKS[task]
