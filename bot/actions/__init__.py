"""Custom actions of the after-sales assistant (served by `python -m actions.server`, which checks
the shared secret Rasa sends; see server.py)."""
