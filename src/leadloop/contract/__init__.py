"""The data contract: the field vocabulary users bring and take away, how values are normalised, and
how CSV files are read and written. Pure and shared: capture, identity, routing, scoring and
enrichment all speak it, and it imports none of them."""
