"""Lazy package attributes: names imported from the package's modules on first use.

So that importing a light part of a package (the front door, the layout, the sampler objects)
does not load TensorFlow and the model code behind its other names.
"""

from __future__ import annotations

import importlib


def lazy_attributes(package: str, names: dict, submodules=()):
    """`(__getattr__, __dir__)` for a package's module namespace.

    Args:
      package: the package's `__name__`.
      names: {attribute: the module (relative to the package) that defines it}.
      submodules: module names given as attributes of the package too.
    """

    def __getattr__(name):
        if name in names:
            return getattr(importlib.import_module(f".{names[name]}", package), name)
        if name in submodules:
            return importlib.import_module(f".{name}", package)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        module = importlib.import_module(package)
        return sorted(set(vars(module)) | set(names) | set(submodules))

    return __getattr__, __dir__
