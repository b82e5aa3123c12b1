"""Spare parts (备件): catalogue, stock locations, the movement ledger, shortages, returns."""
