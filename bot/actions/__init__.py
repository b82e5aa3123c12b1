"""Custom actions of the after-sales assistant (run with `rasa run actions`)."""
