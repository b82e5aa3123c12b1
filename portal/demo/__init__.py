"""Demo data: staff accounts and a few customers and tickets, generated reproducibly."""
