"""An open-source call center: SIP/RTP server, IVR, ACD, agent desktop and API in one program."""

from callcenter import _compiled

__version__ = "0.1.0"

_compiled.install()  # the mypyc-compiled ACD core, when built and current (callcenter/_compiled.py)
