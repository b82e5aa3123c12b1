"""Revisits (回访) after completion and complaint cases (投诉)."""
