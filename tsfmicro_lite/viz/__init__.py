"""Plotting helpers, one module per domain; notebooks import them and save what the README shows."""
