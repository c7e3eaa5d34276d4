"""Atomic file writing: a reader (or a later run) never sees half a file.

Every writer of a file that something later trusts (manifests, preparation
stamps, ``results.json``, committed records, the README's tables) goes through
:func:`atomic_write`: a temporary file in the same folder, flushed and
fsync-ed, then moved into place with :func:`os.replace`.
"""

import json
import os
import uuid


def atomic_write(path, write_fn):
    """Writes ``path`` by calling ``write_fn(file)`` on a temporary file, then replacing.

    An exception in ``write_fn`` leaves ``path`` as it was and no temporary
    file behind. Returns the absolute path.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> path = atomic_write(os.path.join(folder, "a.txt"), lambda f: f.write("one"))
    >>> def fails(f):
    ...     f.write("half")
    ...     raise KeyboardInterrupt
    >>> try:
    ...     atomic_write(path, fails)
    ... except KeyboardInterrupt:
    ...     pass
    >>> open(path).read(), os.listdir(folder)
    ('one', ['a.txt'])
    """
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, ".%s.%d.%s.tmp" % (os.path.basename(path), os.getpid(), uuid.uuid4().hex[:8]))
    # os.open with 0o666 honours the umask (unlike tempfile's 0o600)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    try:  # makes the rename itself durable (POSIX); best effort elsewhere
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return path


def write_text_atomic(path, text):
    """Writes the string ``text`` to ``path`` atomically.

    Example
    -------
    >>> import tempfile
    >>> path = write_text_atomic(os.path.join(tempfile.mkdtemp(), "t.md"), "| a |\\n")
    >>> open(path).read()
    '| a |\\n'
    """
    return atomic_write(path, lambda f: f.write(text))


def write_json_atomic(path, obj, indent=2, sort_keys=False):
    """Writes ``obj`` as JSON to ``path`` atomically (``indent=None``: compact).

    Example
    -------
    >>> import tempfile
    >>> path = write_json_atomic(os.path.join(tempfile.mkdtemp(), "s.json"), {"seed": 1}, indent=None)
    >>> open(path).read()
    '{"seed":1}'
    """
    separators = (",", ":") if indent is None else None
    return write_text_atomic(path, json.dumps(obj, indent=indent, sort_keys=sort_keys, separators=separators))
