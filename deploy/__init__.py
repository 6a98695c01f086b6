"""Deploying new worker code while older workflows keep running on theirs (Worker Versioning)."""
