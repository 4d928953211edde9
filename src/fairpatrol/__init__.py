"""fairpatrol: simulate and audit place-based predictive policing (accuracy, fairness, feedback loops).

The curated entry points are listed in ``__all__``; they are imported on first use, so ``import
fairpatrol`` stays fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

#: name -> module that defines it (imported lazily by :func:`__getattr__`)
_LAZY = {"load_results": "fairpatrol.notebook", "Results": "fairpatrol.notebook"}

__all__ = ["Results", "__version__", "load_results"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fairpatrol' has no attribute {name!r}")
