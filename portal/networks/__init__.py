"""Service networks (网点) and their engineers."""
