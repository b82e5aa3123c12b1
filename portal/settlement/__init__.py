"""Settlement: the double-entry ledger, settlement runs, monthly statements and deposits."""
