"""Dialogs (RFC 3261 §12): identity, CSeq spaces, route sets, target refresh.

A dialog is created by a UAS when it sends a 1xx with a To tag or a 2xx to an INVITE
(§12.1.1), and by a UAC when such a response arrives (§12.1.2). It builds in-dialog requests
(§12.2.1.1: Request-URI is the remote target, Route is the route set, CSeq grows by one) and
checks incoming ones (§12.2.2: a CSeq lower than the last one gets 500). Requests in a dialog
are sent to ``peer``, the address the dialog's first message came from or went to, so the
server never resolves a host named in a Contact.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from callcenter.sip.message import Headers, Request, Response

if TYPE_CHECKING:
    from callcenter.sip.endpoint import Address


class DialogState(enum.Enum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


TARGET_REFRESH = frozenset({"INVITE", "UPDATE"})


def _contact_uri(msg: Request | Response) -> str | None:
    contacts = msg.contacts()
    return str(contacts[0].uri) if contacts else None


@dataclass(slots=True)
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str  # the From (UAC) or To (UAS) value without the tag
    remote_uri: str
    remote_target: str
    peer: Address
    local_contact: str
    local_seq: int
    remote_seq: int | None = None
    route_set: list[str] = field(default_factory=list)
    state: DialogState = DialogState.EARLY
    is_uac: bool = False

    @property
    def id(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def as_uas(
        cls, invite: Request, local_tag: str, local_contact: str, peer: Address, local_seq: int
    ) -> Dialog:
        """§12.1.1: route set from Record-Route in order; remote target from Contact."""
        to = invite.to
        return cls(
            call_id=invite.call_id,
            local_tag=local_tag,
            remote_tag=invite.from_.tag or "",
            local_uri=str(to.uri) if to.display is None else f"{to.display} <{to.uri}>",
            remote_uri=_strip_tag(invite.headers.get("from") or ""),
            remote_target=_contact_uri(invite) or str(invite.from_.uri),
            peer=peer,
            local_contact=local_contact,
            local_seq=local_seq,
            remote_seq=invite.cseq.number,
            route_set=invite.headers.get_all("record-route"),
        )

    @classmethod
    def as_uac(cls, invite: Request, resp: Response, peer: Address, local_contact: str) -> Dialog:
        """§12.1.2: route set from Record-Route in reverse order."""
        return cls(
            call_id=invite.call_id,
            local_tag=invite.from_.tag or "",
            remote_tag=resp.to.tag or "",
            local_uri=_strip_tag(invite.headers.get("from") or ""),
            remote_uri=_strip_tag(resp.headers.get("to") or ""),
            remote_target=_contact_uri(resp) or invite.uri,
            peer=peer,
            local_contact=local_contact,
            local_seq=invite.cseq.number,
            route_set=list(reversed(resp.headers.get_all("record-route"))),
            state=DialogState.CONFIRMED if resp.status < 300 else DialogState.EARLY,
            is_uac=True,
        )

    def new_request(
        self, method: str, body: bytes = b"", content_type: str | None = None
    ) -> Request:
        """A request inside the dialog (§12.2.1.1). ACK reuses the INVITE's CSeq number."""
        if method != "ACK":
            self.local_seq += 1
        h = Headers()
        h.set("from", f"{self.local_uri};tag={self.local_tag}")
        h.set("to", f"{self.remote_uri};tag={self.remote_tag}")
        h.set("call-id", self.call_id)
        h.set("cseq", f"{self.local_seq} {method}")
        if self.route_set:
            h.set("route", self.route_set)
        h.set("contact", f"<{self.local_contact}>")
        if content_type is not None:
            h.set("content-type", content_type)
        return Request(method, self.remote_target, h, body)

    def receive_request(self, req: Request) -> int | None:
        """Check an in-dialog request (§12.2.2); return the error status, or None to go on."""
        number = req.cseq.number
        if req.method not in ("ACK", "CANCEL"):
            if self.remote_seq is not None and number <= self.remote_seq:
                return 500  # §12.2.2: out of order; an equal CSeq is a retransmission elsewhere
            self.remote_seq = number
        if req.method in TARGET_REFRESH:
            target = _contact_uri(req)
            if target is not None:
                self.remote_target = target
        return None

    def receive_response(self, resp: Response) -> None:
        """Confirm an early dialog on 2xx and refresh the target (§12.2.1.2)."""
        if 200 <= resp.status < 300:
            self.state = DialogState.CONFIRMED
            if resp.cseq.method in TARGET_REFRESH:
                target = _contact_uri(resp)
                if target is not None:
                    self.remote_target = target


def _strip_tag(value: str) -> str:
    """A From/To value without its tag parameter (the dialog adds it back)."""
    out = []
    for part in value.split(";"):
        if part.strip().lower().startswith("tag="):
            continue
        out.append(part)
    return ";".join(out).strip()
