"""Importers for the address books that phones and programs export: vCard and Google/Outlook CSV."""
