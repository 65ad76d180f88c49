"""One module per page: ``PATH``, ``TITLE``, ``layout(path)`` and ``register(app, path)``."""
