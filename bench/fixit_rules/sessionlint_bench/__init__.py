"""Fixit rules written for the speed comparison in bench/lint_compare.py (not part of sessionlint)."""
