"""Handoff fixtures shared by the conversation and console tests."""

from tests.conversations.support import hc, make_client, rasa

__all__ = ["hc", "make_client", "rasa"]
