"""The pure core: value types and rules.  No I/O, no ORM, no web framework; takes data, returns data."""
