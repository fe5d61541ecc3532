"""HTTP: thin handlers over the domain packages, the JSON error shape, OpenAPI."""
