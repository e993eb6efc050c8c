"""SDP (RFC 4566) model and offer/answer negotiation (RFC 3264). Pure, no I/O."""
