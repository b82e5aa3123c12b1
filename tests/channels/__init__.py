"""Tests of the customer channels."""
