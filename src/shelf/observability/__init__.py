"""Logs and metrics, free of Flask: JSON log lines and Prometheus series for every request."""
