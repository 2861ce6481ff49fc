"""Parsers: a file or payload in, domain values out.  One module per format; no network access."""
