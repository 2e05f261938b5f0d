"""Lazy attributes for the package's ``__init__`` modules (Scientific Python SPEC 1).

``import mgn_utils`` loads only this module and the package's ``__init__``; ``mgn_utils.CMGN``
or ``from mgn_utils.models import CMGN`` imports the private module that defines the name on
first use. A chapter therefore loads only the modules it uses, which is what its freshness
stamp hashes.
"""

from __future__ import annotations

import importlib
import os
import sys


def attach(package: str, names: dict[str, str]):
    """Module-level ``__getattr__``, ``__dir__`` and ``__all__`` for the package ``package``.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    names : dict
        Public name -> ``"module"`` (the name is that module, relative to ``package``, e.g.
        ``".models"``) or ``"module:attribute"`` (e.g. ``"._mgn:CMGN"``).

    Returns
    -------
    (__getattr__, __dir__, __all__)
        To assign in the package's ``__init__``. Setting the environment variable
        ``MGN_EAGER_IMPORT=1`` imports everything at once (to surface import errors).
    """
    table = dict(names)

    def __getattr__(name: str):
        target = table.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, _, attribute = target.partition(":")
        module = importlib.import_module(module_name, package)
        value = getattr(module, attribute) if attribute else module
        setattr(sys.modules[package], name, value)  # later lookups skip __getattr__
        return value

    def __dir__():
        return sorted(set(table) | set(vars(sys.modules[package])))

    if os.environ.get("MGN_EAGER_IMPORT", "") not in ("", "0"):
        for name in table:
            __getattr__(name)
    return __getattr__, __dir__, sorted(table)
