"""Assignments for a class: the catalog, student notebooks from solutions, the checks, grading submissions."""
