"""Fees: versioned rate cards, warranty decisions, quotes and customer receipts."""
