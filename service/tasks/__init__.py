"""dramatiq actors: thin wrappers over domain operations. Import `service.tasks.broker` first."""
