"""Operational endpoints: runtime info, liveness, readiness and metrics."""
