"""The replay corpus: recorded histories per release, the paths they cover, and the recorder."""
