"""The audit log of every staff write."""
