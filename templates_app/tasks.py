"""templates_app's background work. None: every quick-reply write is a request's own, and the
in-memory library syncs itself on the next read (``templates_app.library``)."""
