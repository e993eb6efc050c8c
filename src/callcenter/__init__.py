"""An open-source call center: SIP/RTP server, IVR, ACD, agent desktop and API in one program."""

__version__ = "0.1.0"
