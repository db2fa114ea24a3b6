"""The engine's tests, a file per module: python -m unittest (from the project's root)."""
