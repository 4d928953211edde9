"""fairpatrol: simulate and audit place-based predictive policing (accuracy, fairness, feedback loops)."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
