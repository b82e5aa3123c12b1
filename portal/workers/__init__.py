"""The portal's background processes: the SLA scheduler and the notification outbox worker.

Run with `python -m portal.workers scheduler|outbox [--once]`. All their state is in the
database, so any number of them can run side by side and be restarted at any time.
"""
