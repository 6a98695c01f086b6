"""A second build of Parley's worker for the upgrade test: today's code with SessionWorkflow's
commands changed, run as its own process."""
