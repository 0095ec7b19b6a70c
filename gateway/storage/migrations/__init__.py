"""Versioned schema migrations, written once for both databases (`NNNN_name.sql`, applied in
order). Each backend applies them in its own way and spells the few types that differ."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources


def migration_scripts(types: Mapping[str, str]) -> list[tuple[int, str, str]]:
    """(version, name, sql) for every `NNNN_name.sql` here, in order, with the backend's `types`
    written in; each version once. Numbers are handed out ahead of the work that uses them, so a
    later one may land before an earlier one: a gap is allowed, a repeat is not."""
    folder = resources.files(__package__)
    scripts = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            sql = entry.read_text(encoding="utf-8")
            for token, spelled in types.items():
                sql = sql.replace(token, spelled)
            scripts.append((int(name[:4]), name, sql))
    scripts.sort()
    versions = [v for v, _, _ in scripts]
    if len(set(versions)) != len(versions) or (versions and versions[0] < 1):
        raise RuntimeError(f"migration versions must be distinct and positive: {versions}")
    return scripts
