"""How Parley is doing as a whole: metrics, traces and logs, for the API and the worker alike."""
