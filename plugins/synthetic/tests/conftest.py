"""Synthetic data needs no files."""
