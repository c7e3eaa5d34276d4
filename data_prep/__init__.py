"""Corpus preparation scripts: each writes the four CSV manifests of a task."""
