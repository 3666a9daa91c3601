"""Repositories: the SQL behind the read model. Sync SQLAlchemy; async callers use to_thread."""
