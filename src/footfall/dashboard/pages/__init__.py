"""The dashboard's pages, one module per area; each handler is wrapped by `views.page`."""
