"""Tests of wsframe.integrations (a package so that helpers import relatively)."""
