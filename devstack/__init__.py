"""Run all of Parley on one machine for development (`python -m devstack up`)."""
