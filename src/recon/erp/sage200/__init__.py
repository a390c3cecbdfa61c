"""The sage200 plug-in: its client, collector and poster."""
