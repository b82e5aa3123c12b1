"""Service-level agreements: response, arrival and resolution deadlines, their timers,
warnings and the escalation ladder."""
