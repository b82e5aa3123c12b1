"""Rasa's REST channel contract, offered by the product itself."""
