"""The ERP plug-ins: one folder per vendor (client, collector, poster)."""
