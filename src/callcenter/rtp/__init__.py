"""RTP/RTCP (RFC 3550) packets, DTMF (RFC 4733), codecs and jitter buffer. Pure, no I/O."""
