"""Deprecated path, kept for one release: use recbook.planning.bounds."""

from __future__ import annotations

from recbook.planning.bounds import LookaheadPolicy, exploit_value, reveal_order_bound

__all__ = ["LookaheadPolicy", "exploit_value", "reveal_order_bound"]
