"""One module per scenario; each returns a dict of figures for the report."""
