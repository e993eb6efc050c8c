"""The Replaces header (RFC 3891) and its escaped form inside a Refer-To URI (RFC 3515 §2.1).

An attended transfer from a phone (RFC 5589 §7) sends REFER with
``Refer-To: <sip:target@host?Replaces=CALLID%3Bto-tag%3DT%3Bfrom-tag%3DF>``: the dialog to be
replaced is named by its Call-ID and its two tags. ``Replaces.matches`` compares it with a
dialog of ours; RFC 3891 §3 compares the to-tag with the recipient's local tag and the
from-tag with its remote tag, and phones that build the header from their own side of the
dialog swap them, so both orders are accepted (the Call-ID plus both tags still name exactly
one dialog).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from callcenter.sip.errors import SipSyntaxError


@dataclass(frozen=True, slots=True)
class Replaces:
    call_id: str
    to_tag: str
    from_tag: str
    early_only: bool = False

    def matches(self, call_id: str, local_tag: str, remote_tag: str) -> bool:
        if call_id != self.call_id:
            return False
        return (self.to_tag, self.from_tag) in ((local_tag, remote_tag), (remote_tag, local_tag))


def parse_replaces(value: str) -> Replaces:
    """``callid;to-tag=T;from-tag=F[;early-only]`` (RFC 3891 §6.1)."""
    call_id, *params = value.strip().split(";")
    call_id = call_id.strip()
    if not call_id or any(c.isspace() for c in call_id):
        raise SipSyntaxError(f"Replaces: bad Call-ID {call_id!r}")
    tags: dict[str, str] = {}
    early_only = False
    for param in params:
        name, sep, text = param.partition("=")
        name = name.strip().lower()
        if name == "early-only" and not sep:
            early_only = True
        elif name in ("to-tag", "from-tag") and text.strip():
            tags[name] = text.strip()
    if "to-tag" not in tags or "from-tag" not in tags:
        raise SipSyntaxError("Replaces: to-tag and from-tag are required")
    return Replaces(call_id, tags["to-tag"], tags["from-tag"], early_only)


def replaces_in_uri_headers(headers: str | None) -> Replaces | None:
    """The Replaces of a URI's ``?name=value&...`` part (escaped), or None when absent."""
    if not headers:
        return None
    for part in headers.split("&"):
        name, _, value = part.partition("=")
        if unquote(name).strip().lower() == "replaces":
            return parse_replaces(unquote(value))
    return None
