"""Artifacts: export a model to a format (``export``), the cache key that decides reuse
(``cache``), and the converters' own log output (``chatter``)."""
