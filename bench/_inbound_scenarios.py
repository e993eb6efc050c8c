"""SIPp scenarios for ``bench/inbound.py``: callers that time-stamp what they send, and agent
phones that answer every call for many extensions at once.

Every scenario logs one line per event with the wall clock (``gettimeofday``: SIPp prints each
variable as a double, so ``s.000000.us.000000``) to its ``-log_file``; ``_inbound_analysis``
reads those lines. Requests and SDP come from the end-to-end helpers (``tests/e2e/sipp.py``);
the caller follows ``caller_scenario`` step by step, adding only the time stamps and a distinct
branch for a BYE that the server sent before the caller's planned hangup (a premature release).
"""

from __future__ import annotations

from tests.e2e import sipp as e2e

_OK_TO_BYE = """  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>"""


def _stamp(name: str) -> str:
    return f'  <nop><action><gettimeofday assign_to="{name}s,{name}u" /></action></nop>'


def caller(digits: str = "", before_ms: int = 0, between_ms: int = 300,
           hold_ms: int = 2000) -> str:  # fmt: skip
    """Call [service] as [field0]; send ``digits`` as SIP INFO; hang up after ``hold_ms``.

    Log lines: ``call <caller> <INVITE sent> <200 received> <last digit sent or 0> <outcome>``,
    outcome ``ok`` (we hung up as planned) or ``premature`` (the server's BYE came first).
    """
    parts = ['<?xml version="1.0" encoding="UTF-8" ?>', '<scenario name="bench caller">']
    parts.append(_stamp("i"))
    parts.append(e2e._request("INVITE", 1, e2e.sdp(), "application/sdp", peer=False))
    for status in (100, 180, 183):
        parts.append(f'  <recv response="{status}" optional="true" />')
    parts.append('  <recv response="200" rtd="true"><action><gettimeofday assign_to="as,au" />'
                 "</action></recv>")  # fmt: skip
    parts.append(e2e._request("ACK", 1))
    if before_ms:
        parts.append(f'  <pause milliseconds="{before_ms}" />')
    for i, digit in enumerate(digits):
        if i:
            parts.append(f'  <pause milliseconds="{between_ms}" />')
        parts.append(_stamp("d"))
        parts.append(e2e._request("INFO", 2 + i, f"      Signal={digit}\n      Duration=160\n",
                                  "application/dtmf-relay"))  # fmt: skip
        parts.append('  <recv response="200" />')
    cseq = 2 + len(digits)
    digit = "[$ds].[$du]" if digits else "0.000000.0.000000"
    parts.append(f'  <recv request="BYE" timeout="{hold_ms}" ontimeout="hangup" next="bye_in" />')
    parts.append('  <label id="hangup" />')
    parts.append(e2e._request("BYE", cseq))
    parts.append('  <recv response="200" />')
    parts.append(_log(f"call [field0] [$is].[$iu] [$as].[$au] {digit} ok"))
    parts.append('  <nop next="end" />')
    parts.append('  <label id="bye_in" />')
    parts.append(_OK_TO_BYE)
    parts.append(_log(f"call [field0] [$is].[$iu] [$as].[$au] {digit} premature"))
    parts.append('  <label id="end" />')
    parts.append("</scenario>")
    return "\n".join(parts) + "\n"


def _log(message: str) -> str:
    return f'  <nop><action><log message="{message}" /></action></nop>'


_AGENT_REPLY = """  <send{retrans}>
    <![CDATA[
      SIP/2.0 {status}
      [last_Via:]
      [last_From:]
      [last_To:]{tag}
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[$ext]@[local_ip]:[local_port]>
{extra}      Content-Length: [len]

{body}    ]]>
  </send>"""


def agents(answer_after_ms: int = 0) -> str:
    """A phone for every extension registered at this SIPp's address: each INVITE rings (180),
    is answered after ``answer_after_ms`` and waits for the server's BYE. Retransmitted INVITEs
    are absorbed (the 200 is retransmitted until the ACK); a CANCEL that crossed the 200 gets
    its 200 and the call goes on (the server then ACKs and hangs up, RFC 3261 §9.1).

    Log lines: ``inv <ext> <caller> <time> <Call-ID>`` on each INVITE and ``bye <ext> <time>
    <Call-ID>`` on its BYE, so overlapping calls at one extension can be found.
    """
    ruri = (
        '<ereg regexp="INVITE sip:([0-9]+)@" search_in="msg" check_it="true" assign_to="r,ext" />'
    )
    frm = ('<ereg regexp="sip:([0-9]+)@" search_in="hdr" header="From:" check_it="true" '
           'assign_to="f,caller" />')  # fmt: skip
    stamp = '<gettimeofday assign_to="is,iu" />'
    tag = ";tag=[pid]ag[call_number]"
    parts = ['<?xml version="1.0" encoding="UTF-8" ?>', '<scenario name="bench agents">']
    parts.append(f'  <recv request="INVITE" crlf="true"><action>{ruri}{frm}{stamp}</action></recv>')
    parts.append(_log("inv [$ext] [$caller] [$is].[$iu] [call_id] [$r] [$f]"))
    parts.append(_AGENT_REPLY.format(status="180 Ringing", retrans="", tag=tag, extra="", body=""))
    if answer_after_ms:
        parts.append(f'  <pause milliseconds="{answer_after_ms}" />')
    parts.append(_AGENT_REPLY.format(status="200 OK", retrans=' retrans="500"', tag=tag,
                                     extra="      Content-Type: application/sdp\n",
                                     body=e2e.sdp()))  # fmt: skip
    parts.append('  <label id="wait_ack" />')
    parts.append('  <recv request="CANCEL" optional="true" next="cancelled" />')
    parts.append('  <recv request="INVITE" optional="true" next="wait_ack" />')
    parts.append('  <recv request="ACK" />')
    parts.append('  <label id="talk" />')
    parts.append('  <recv request="INVITE" optional="true" next="talk" />')
    parts.append('  <recv request="BYE"><action><gettimeofday assign_to="bs,bu" /></action></recv>')
    parts.append(_AGENT_REPLY.format(status="200 OK", retrans="", tag="", extra="", body=""))
    parts.append(_log("bye [$ext] [$bs].[$bu] [call_id]"))
    parts.append('  <nop next="end" />')
    parts.append('  <label id="cancelled" />')
    parts.append(_AGENT_REPLY.format(status="200 OK", retrans="", tag=tag, extra="", body=""))
    parts.append(_log("cancel [$ext] [call_id]"))
    parts.append('  <nop next="wait_ack" />')
    parts.append('  <label id="end" />')
    parts.append('  <timewait milliseconds="2000" />')
    parts.append("</scenario>")
    return "\n".join(parts) + "\n"
