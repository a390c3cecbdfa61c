"""The netsuite plug-in: its client, collector and poster."""
