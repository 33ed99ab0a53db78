"""Imports every command module so that its commands register on the app.
Discovery by name keeps this file out of every change that adds a command."""

import importlib
import pkgutil

import coda_restore.cli as _pkg

for _mod in sorted(m.name for m in pkgutil.iter_modules(_pkg.__path__)):
    if _mod.endswith("_cmd"):
        importlib.import_module(f"coda_restore.cli.{_mod}")
