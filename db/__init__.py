"""PostgreSQL schema, rows and migrations."""
