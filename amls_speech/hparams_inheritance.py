"""hparams files that extend others: a method's file names its base and holds only what differs.

A file whose top level has ``extends: <file>`` (relative to it; or a list,
merged left to right) reads as that file with this one's keys applied on top,
the way command-line overrides are applied to a file:

- a mapping merges key by key into the base's mapping of the same YAML tag
  (``modules:`` and the checkpointer's ``recoverables:`` of an adversarial
  method add its discriminator to the source-only recipe's);
- anything else replaces the base's value, and so does a mapping with another
  tag (``!new:`` of another class is not mixed with the base's arguments);
- keys new to the base go after the base's keys, in the file's order;
- a key set to ``!drop`` is removed from the base (a base's key that the
  child's method never reads, such as source-only training's plateau
  stopping in an adaptive method's file), so the merged file holds only
  what the run uses. A ``!drop`` with nothing to remove is kept while the
  files merge (a shared method file drops a key of the recipe file it is
  listed beside) and left out of the final document.

The result is one hyperpyyaml document, read before any reference is
resolved: ``!ref`` in either file sees the merged keys (the base's
``output_folder: !ref <results_root>/<task>/<method>`` sees the method the
child names), command-line overrides reach keys of the base, and objects are
built in the merged document's order (first the base's keys, so that the
seeded random draws of a base's networks do not depend on what extends it).
hyperpyyaml's own ``!include:`` still works (its paths relative to the file
loaded); it loads a file as the value of *one* key, which is why it does not
serve here.
"""

import io
import os

import ruamel.yaml

EXTENDS_KEY = "extends"
DROP_TAG = "!drop"


def merge_into(base, child):
    """Applies mapping ``child`` to mapping ``base`` in place (rules above); returns ``base``.

    Example
    -------
    >>> yaml = ruamel.yaml.YAML()
    >>> base = yaml.load("lr: 0.01\\nmodules: {f: 1, g: 2}\\nnet: !new:A {width: 4}")
    >>> child = yaml.load("lr: 0.1\\nmodules: {d: 3}\\nnet: !new:B {depth: 2}\\nnew: 5")
    >>> out = merge_into(base, child)
    >>> out["lr"], dict(out["modules"]), out["net"].tag.value, dict(out["net"]), list(out)
    (0.1, {'f': 1, 'g': 2, 'd': 3}, '!new:B', {'depth': 2}, ['lr', 'modules', 'net', 'new'])
    >>> list(merge_into(out, yaml.load("lr: !drop\\nmodules:\\n    f: !drop\\n")))
    ['modules', 'net', 'new']
    >>> dict(out["modules"])
    {'g': 2, 'd': 3}
    """
    for key, value in child.items():
        if _tag(value) == DROP_TAG and key in base:
            del base[key]
            continue
        old = base.get(key)
        if isinstance(old, dict) and isinstance(value, dict) and _tag(old) == _tag(value):
            merge_into(old, value)
        else:
            base[key] = value
    return base


def without_drops(tree):
    """``tree`` without the ``!drop`` keys that found nothing to remove (in place; returned).

    Example
    -------
    >>> tree = ruamel.yaml.YAML().load("a: 1\\nb: !drop\\nm:\\n    c: !drop\\n    d: 2\\n")
    >>> tree = without_drops(tree)
    >>> list(tree), dict(tree["m"])
    (['a', 'm'], {'d': 2})
    """
    if isinstance(tree, dict):
        for key in [k for k, v in tree.items() if _tag(v) == DROP_TAG]:
            del tree[key]
        for value in tree.values():
            without_drops(value)
    return tree


def _tag(node):
    tag = getattr(node, "tag", None)
    return getattr(tag, "value", None)


def merged_tree(path, _chain=()):
    """The ruamel tree of hparams file ``path`` with its ``extends`` chain applied.

    Raises
    ------
    FileNotFoundError
        A base that does not exist, naming the file that names it.
    ValueError
        A file that extends itself (directly or through its bases), or an
        ``extends`` that is not a path or a list of paths.

    Example
    -------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> _ = open(os.path.join(folder, "base.yaml"), "w").write("method: base\\nlr: 0.01\\n")
    >>> _ = open(os.path.join(folder, "child.yaml"), "w").write("extends: base.yaml\\nmethod: child\\n")
    >>> dict(merged_tree(os.path.join(folder, "child.yaml")))
    {'method': 'child', 'lr': 0.01}
    """
    path = os.path.realpath(path)
    if path in _chain:
        raise ValueError("hparams file %s extends itself (through %s): remove one of the 'extends' keys"
                         % (path, " -> ".join(_chain + (path,))))
    with open(path) as f:
        tree = ruamel.yaml.YAML().load(f)
    bases = tree.pop(EXTENDS_KEY, None) if isinstance(tree, dict) else None
    if bases is None:
        return tree
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not bases or not all(isinstance(b, str) for b in bases):
        raise ValueError("%s: 'extends' must name an hparams file or a list of them, got %r" % (path, bases))
    merged = None
    for base in bases:
        base_path = os.path.join(os.path.dirname(path), base)
        if not os.path.isfile(base_path):
            raise FileNotFoundError("%s extends %s, which does not exist (paths are relative to the file)"
                                    % (path, base_path))
        tree_of_base = merged_tree(base_path, _chain + (path,))
        merged = tree_of_base if merged is None else merge_into(merged, tree_of_base)
    return merge_into(merged, tree)


def read_hparams(path):
    """A stream of hparams file ``path`` as one document (its ``extends`` applied), for hyperpyyaml.

    Example
    -------
    >>> import tempfile
    >>> from hyperpyyaml import load_hyperpyyaml
    >>> folder = tempfile.mkdtemp()
    >>> _ = open(os.path.join(folder, "base.yaml"), "w").write("lr: 0.01\\nrate: !ref <lr> * 2\\n")
    >>> _ = open(os.path.join(folder, "child.yaml"), "w").write("extends: base.yaml\\nlr: 0.5\\n")
    >>> load_hyperpyyaml(read_hparams(os.path.join(folder, "child.yaml")), {"lr": 1})
    {'lr': 1, 'rate': 2}
    """
    tree = without_drops(merged_tree(path))
    stream = io.StringIO()
    ruamel.yaml.YAML().dump(tree, stream)
    stream.seek(0)
    stream.name = path  # hyperpyyaml resolves !include: paths from the stream's name
    return stream
