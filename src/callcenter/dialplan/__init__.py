"""Dialplan: called number, caller and time of day to a destination. Pure."""
