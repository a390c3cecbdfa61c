"""The sapb1 plug-in: its client, collector and poster."""
