"""Storage: `MetaStore` (sites, tokens, salts) and `EventStore` (events), one module a backend."""
