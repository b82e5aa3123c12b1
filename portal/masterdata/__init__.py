"""Master data a service company brings: networks, engineers, products, parts and stock."""
