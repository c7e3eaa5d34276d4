"""Every public name is documented (SpeechBrain's ``check_docstrings`` yardstick, made stricter).

SpeechBrain asks for a docstring on every module, class and function; here the
library and the preparation scripts, whose doctests ``make test`` runs, also
show a runnable ``Example`` on every public top-level class and function.
Exception classes and command-line ``main`` functions are exempt from the
Example (a docstring they still need).
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCUMENTED = ("amls_speech", "data_prep", "bench", "recipes", "tools")
WITH_EXAMPLES = ("amls_speech", "data_prep")
# Entry points whose shortest honest example trains models or builds whole corpora
# (seconds to minutes, too slow for a doctest); the named tests exercise them.
TOO_SLOW_FOR_AN_EXAMPLE = {
    "amls_speech/bench.py train_one": "tests/test_report_bench.py (bench.main)",
    "amls_speech/bench.py train_distributed": "tests/test_distributed.py (torchrun)",
    "amls_speech/bench.py run_parallel": "tests/test_report_bench.py (--jobs 2)",
    "amls_speech/recipe.py run": "tests/test_recipe_gender.py",
    "amls_speech/recipe.py run_recipe": "tests/test_recipes_digits.py",
    "amls_speech/tsne.py embed_domains": "tests/test_tsne.py",
    "data_prep/embedded.py embedded_data": "tests/test_report_bench.py (the generators it calls have examples)",
}


def python_files(folders):
    """Every ``.py`` file under the named top-level folders."""
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def public(node):
    """A class or function whose name does not start with an underscore."""
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_")


def is_exception(node):
    """A class deriving from something named ``*Error`` or ``*Exception``."""
    names = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in getattr(node, "bases", [])]
    return isinstance(node, ast.ClassDef) and any(n.endswith(("Error", "Exception")) for n in names)


def undocumented(path, root=ROOT):
    """``path:line name`` of every public module/class/function without a docstring."""
    tree = ast.parse(path.read_text())
    where = path.relative_to(root)
    missing = [] if ast.get_docstring(tree) else ["%s: module" % where]
    missing += ["%s:%d %s" % (where, n.lineno, n.name) for n in ast.walk(tree) if public(n) and not ast.get_docstring(n)]
    return missing


def without_example(path, root=ROOT):
    """Public top-level classes and functions whose docstring has no ``Example`` section."""
    tree = ast.parse(path.read_text())
    where = path.relative_to(root)
    return [
        "%s:%d %s" % (where, n.lineno, n.name)
        for n in tree.body
        if public(n)
        and n.name != "main"
        and not is_exception(n)
        and "%s %s" % (where, n.name) not in TOO_SLOW_FOR_AN_EXAMPLE
        and "Example" not in (ast.get_docstring(n) or "")
    ]


def test_checker_catches_what_is_missing(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        '"""Doc."""\n\n'
        'def documented():\n    """Yes.\n\n    Example\n    -------\n    >>> 1\n    1\n    """\n\n'
        "def bare():\n    pass\n\n"
        "class BadInput(ValueError):\n    def check(self):\n        pass\n\n"
        'def main():\n    """CLI."""\n'
    )
    assert undocumented(probe, tmp_path) == ["probe.py:12 bare", "probe.py:15 BadInput", "probe.py:16 check"]
    assert without_example(probe, tmp_path) == ["probe.py:12 bare"]
    probe.write_text("x = 1\n")
    assert undocumented(probe, tmp_path) == ["probe.py: module"]


@pytest.mark.parametrize("folder", DOCUMENTED)
def test_every_public_name_has_a_docstring(folder):
    missing = [m for p in python_files([folder]) for m in undocumented(p)]
    assert not missing, "write a docstring for:\n" + "\n".join(missing)


def test_exempt_names_still_exist():
    names = {"%s %s" % (p.relative_to(ROOT), n.name) for p in python_files(WITH_EXAMPLES)
             for n in ast.parse(p.read_text()).body if public(n)}
    assert set(TOO_SLOW_FOR_AN_EXAMPLE) <= names, "drop renamed or removed names from TOO_SLOW_FOR_AN_EXAMPLE"


@pytest.mark.parametrize("folder", WITH_EXAMPLES)
def test_public_library_names_show_an_example(folder):
    missing = [m for p in python_files([folder]) for m in without_example(p)]
    assert not missing, "add a runnable Example section to:\n" + "\n".join(missing)
