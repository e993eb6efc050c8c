"""SIP signaling core (RFC 3261), sans-IO: bytes, events and ``now`` in; bytes, events out."""
