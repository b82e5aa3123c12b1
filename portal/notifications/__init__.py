"""Notifications: a transactional outbox delivered by a worker."""
