"""Stands in for the cython module when the codec runs interpreted without Cython."""

compiled = False


def cclass(cls):
    return cls


no_gc = cclass


def freelist(size):
    return cclass
