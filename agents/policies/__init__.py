"""Remediation policies shipped with Vidya (``default.yaml``), read by :mod:`agents.policy`."""
