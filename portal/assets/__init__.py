"""Products, models and the assets installed at customers."""
