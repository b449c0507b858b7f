"""The application layer: the ``asnn`` command, the cached pipeline, reports and plots."""
