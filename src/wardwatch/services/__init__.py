"""Use cases: each one opens a transaction and calls the domain, the adapters and the store."""
