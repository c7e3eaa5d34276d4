"""Doctests of ``amls_speech`` and ``data_prep`` write their files under pytest's temporary folder.

Many examples call ``tempfile.mkdtemp()`` for a scratch folder; pointing
``tempfile`` at each doctest's ``tmp_path`` keeps ``make test`` from leaving
folders in the system's temporary directory (pytest prunes its own).
"""

import tempfile

import pytest
from _pytest.doctest import DoctestItem


@pytest.fixture(autouse=True)
def doctest_scratch_in_tmp_path(request, monkeypatch):
    """For a doctest only: ``tempfile.mkdtemp()`` and friends create under its ``tmp_path``."""
    if isinstance(request.node, DoctestItem):
        monkeypatch.setattr(tempfile, "tempdir", str(request.getfixturevalue("tmp_path")))
