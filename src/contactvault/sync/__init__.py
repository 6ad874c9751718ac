"""Deciding what may reach a messenger, the minimal book, and where it goes."""
