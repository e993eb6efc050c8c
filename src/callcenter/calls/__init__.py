"""Calls: the B2BUA application on top of the SIP user agent and the media engine."""
