"""The audit log: who changed what, when, from where; written with every change."""
