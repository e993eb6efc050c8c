"""The media engine: RTP sockets, relay, player, recorder, mixer and TTS (asyncio shells).

Pure pieces (RTP packets, G.711 tables, RFC 4733 DTMF) live in ``callcenter.rtp``; this package
owns the sockets, the 20 ms clock and the files. ``MediaEngine`` in ``engine`` is the control
interface the call controller uses; ``worker.WorkerPool`` offers the same interface with the
media spread over worker processes. See docs/media.md.
"""
