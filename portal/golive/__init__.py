"""What a company still lacks before going live: the checklist (`python -m portal check`,
the /golive page for admins)."""
