"""Intake: what a customer's message says about the visit (time window, address, phone)."""
