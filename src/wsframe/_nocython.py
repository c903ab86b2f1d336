"""Stands in for the cython module when the codec runs interpreted without Cython."""

compiled = False
