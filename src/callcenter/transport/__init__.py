"""asyncio shells around the SIP core: UDP, TCP and TLS transports."""
