"""The thin HTTP API: validates, authenticates, talks to workflows and reads Postgres."""
