"""`fairpatrol sweep` and `fairpatrol analyze` (registered on the main app)."""

from __future__ import annotations
