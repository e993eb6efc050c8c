"""SIPp helpers for end-to-end tests: scenario builders and runners.

SIPp does not accept scenario variables in pauses or timeouts, so caller scenarios are written
from a template with the numbers of each test.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from .conftest import need

SCENARIOS = Path(__file__).resolve().parent / "scenarios"

_HEAD = """\
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>{peer}
      Call-ID: [call_id]
      CSeq: {cseq} {method}
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      Max-Forwards: 70"""


def _request(method: str, cseq: int, body: str = "", ctype: str = "", peer: bool = True,
             extra: tuple[str, ...] = ()) -> str:  # fmt: skip
    head = _HEAD.format(peer="[peer_tag_param]" if peer else "", cseq=cseq, method=method)
    lines = [f"      {method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0", head]
    lines += [f"      {header}" for header in extra]
    if ctype:
        lines.append(f"      Content-Type: {ctype}")
    lines.append("      Content-Length: [len]")
    text = "\n".join(lines) + "\n\n" + body
    retrans = ' retrans="500"' if method != "ACK" else ""
    return f"  <send{retrans}>\n    <![CDATA[\n{text}\n    ]]>\n  </send>\n"


def sdp(rtp_port: int | None = None) -> str:
    """An SDP offer/answer with PCMU and telephone-event; media at ``rtp_port`` if given."""
    port = "[media_port]" if rtp_port is None else str(rtp_port)
    return f"""\
      v=0
      o=user1 53655765 2353687637 IN IP4 127.0.0.1
      s=-
      c=IN IP4 127.0.0.1
      t=0 0
      m=audio {port} RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
"""


def caller_scenario(digits: str = "", before_ms: int = 1000, between_ms: int = 300,
                    hold_ms: int = 5000, expect_bye: bool = False,
                    rtp_port: int | None = None,
                    invite_headers: tuple[str, ...] = ()) -> str:  # fmt: skip
    """Call [service] as [field0], send ``digits`` as SIP INFO, stay ``hold_ms``, hang up.

    With ``expect_bye`` the server must hang up within ``hold_ms`` (else the call fails);
    otherwise a BYE from the server is answered and counts as success too.
    """
    parts = ['<?xml version="1.0" encoding="UTF-8" ?>', '<scenario name="caller">']
    parts.append(_request("INVITE", 1, sdp(rtp_port), "application/sdp", peer=False,
                          extra=invite_headers))  # fmt: skip
    parts.append('  <recv response="100" optional="true" />')
    parts.append('  <recv response="180" optional="true" />')
    parts.append('  <recv response="183" optional="true" />')
    parts.append('  <recv response="200" rtd="true" />')
    parts.append(_request("ACK", 1))
    parts.append(f'  <pause milliseconds="{before_ms}" />')
    for i, digit in enumerate(digits):
        if i:
            parts.append(f'  <pause milliseconds="{between_ms}" />')
        parts.append(_request("INFO", 2 + i, f"      Signal={digit}\n      Duration=160\n",
                              "application/dtmf-relay"))  # fmt: skip
        parts.append('  <recv response="200" />')
    cseq = 2 + len(digits)
    on_timeout = "fail" if expect_bye else "hangup"
    parts.append(f'  <recv request="BYE" timeout="{hold_ms}" ontimeout="{on_timeout}" '
                 'next="bye_in" />')  # fmt: skip
    parts.append('  <label id="hangup" />')
    parts.append(_request("BYE", cseq))
    parts.append('  <recv response="200" next="end" />')
    parts.append('  <label id="fail" />')
    parts.append('  <nop><action><exec int_cmd="stop_now" /></action></nop>')
    parts.append('  <label id="bye_in" />')
    parts.append("""  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>""")
    parts.append('  <label id="end" />')
    parts.append("</scenario>")
    return "\n".join(parts) + "\n"


_REPLY = """  <send{retrans}>
    <![CDATA[
      SIP/2.0 {status}
      [last_Via:]
      [last_From:]
      [last_To:]{tag}
      [last_Call-ID:]
      {cseq}
      Contact: <sip:{ext}@[local_ip]:[local_port]>
{extra}      Content-Length: [len]

{body}    ]]>
  </send>"""


def _reply(status: str, ext: str, *, cseq: str = "[last_CSeq:]", body: str = "",
           retrans: bool = False, ctype: str = "", tag: bool = True) -> str:  # fmt: skip
    extra = f"      Content-Type: {ctype}\n" if ctype else ""
    return _REPLY.format(status=status, cseq=cseq, extra=extra, body=body, ext=ext,
                         tag=";tag=[pid]agent[call_number]" if tag else "",
                         retrans=' retrans="500"' if retrans else "")  # fmt: skip


_AGENT_BYE = """  <send retrans="500">
    <![CDATA[
      BYE [$contact] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: [$to];tag=[pid]agent[call_number]
      To: [$from]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:{ext}@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" />"""
_AGENT_REFER = """  <send retrans="500">
    <![CDATA[
      REFER [$contact] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: [$to];tag=[pid]agent[call_number]
      To: [$from]
      Call-ID: [call_id]
      CSeq: 2 REFER
      Contact: <sip:{ext}@[local_ip]:[local_port]>
      Refer-To: <sip:{target}@[local_ip]>
      Referred-By: <sip:{ext}@[local_ip]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="202" />
  <recv request="NOTIFY" />"""
_CAPTURE = (
    '<ereg regexp=".*" search_in="hdr" header="From:" assign_to="from" />'
    '<ereg regexp=".*" search_in="hdr" header="To:" assign_to="to" />'
    '<ereg regexp="&lt;(sip:[^&gt;]*)&gt;" search_in="hdr" header="Contact:" '
    'assign_to="junk,contact" />'
)


def agent_scenario(ext: str, rtp_port: int, answer_after_ms: int = 500,
                   calls: str = "answer", expect: tuple[str, ...] = (),
                   talk_ms: int | None = None, refer_to: str | None = None) -> str:  # fmt: skip
    """An agent phone (extension ``ext``): ``answer`` rings then answers and waits for BYE;
    ``no_answer`` rings until the server CANCELs (then 200 + 487, ACK). Each regex of
    ``expect`` must match the INVITE, or the call fails. With ``talk_ms`` the agent hangs up
    itself after that long, so a test's talk time does not depend on how long the IVR took;
    with ``refer_to`` as well it then transfers the call (REFER) instead, answers the NOTIFY
    and waits for the server's BYE."""
    parts = ['<?xml version="1.0" encoding="UTF-8" ?>', '<scenario name="agent">']
    checks = (_CAPTURE if talk_ms is not None else "") + "".join(
        f'<ereg regexp={quoteattr(pattern)} search_in="msg" check_it="true" assign_to="m{i}" />'
        for i, pattern in enumerate(expect)
    )  # a missing header fails the call
    action = f"<action>{checks}</action>" if checks else ""
    parts.append(f'  <recv request="INVITE" crlf="true">{action}</recv>')
    if expect:  # SIPp insists that each assigned variable is used once
        used = " ".join(f"[$m{i}]" for i in range(len(expect)))
        parts.append(f'  <nop><action><log message="{used}" /></action></nop>')
    parts.append(_reply("180 Ringing", ext))
    if calls == "no_answer":
        parts.append('  <recv request="CANCEL" />')
        parts.append(_reply("200 OK", ext))
        parts.append(_reply("487 Request Terminated", ext,
                            cseq="CSeq: [last_cseq_number] INVITE"))  # fmt: skip
        parts.append('  <recv request="ACK" />')
    else:
        parts.append(f'  <pause milliseconds="{answer_after_ms}" />')
        parts.append(_reply("200 OK", ext, body=sdp(rtp_port), retrans=True,
                            ctype="application/sdp"))  # fmt: skip
        parts.append('  <recv request="ACK" />')
        if talk_ms is not None and refer_to is not None:
            parts.append(f'  <pause milliseconds="{talk_ms}" />')
            parts.append(_AGENT_REFER.format(ext=ext, target=refer_to))
            parts.append(_reply("200 OK", ext, tag=False))
            parts.append('  <recv request="BYE" />')
            parts.append(_reply("200 OK", ext, tag=False))
            parts.append('  <nop><action><log message="[$junk][$from][$to]" /></action></nop>')
        elif talk_ms is not None:
            parts.append(f'  <pause milliseconds="{talk_ms}" />')
            parts.append(_AGENT_BYE.format(ext=ext))
            parts.append('  <nop><action><log message="[$junk]" /></action></nop>')
        else:
            parts.append('  <recv request="BYE" />')
            parts.append(_reply("200 OK", ext, tag=False))
    parts.append("</scenario>")
    return "\n".join(parts) + "\n"


@dataclass
class SippResult:
    rc: int
    ok: int
    failed: int
    text: str


def parse_screen(text: str) -> tuple[int, int]:
    ok = re.search(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", text)
    failed = re.search(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", text)
    return (int(ok.group(1)) if ok else -1, int(failed.group(1)) if failed else -1)


def run(args: list[str], cwd: Path, timeout: float = 120) -> SippResult:
    sipp = need("sipp")
    screen = cwd / f"screen-{len(list(cwd.glob('screen-*')))}.txt"
    cmd = [sipp, *args, "-nostdin", "-trace_screen", "-screen_file", str(screen),
           "-trace_err", "-error_file", str(screen.with_suffix(".err"))]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          check=False)  # fmt: skip
    text = screen.read_text() if screen.exists() else proc.stdout + proc.stderr
    ok, failed = parse_screen(text)
    return SippResult(proc.returncode, ok, failed, text)


def start(args: list[str], cwd: Path, name: str) -> subprocess.Popen[str]:
    """A SIPp process in the background (e.g. an auto-answering agent)."""
    sipp = need("sipp")
    screen = cwd / f"{name}.screen"
    cmd = [sipp, *args, "-nostdin", "-trace_screen", "-screen_file", str(screen)]
    return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip


def register(server_port: int, ext: str, password: str, contact_port: int, cwd: Path,
             expires: int = 300) -> SippResult:  # fmt: skip
    csv = cwd / f"reg-{ext}.csv"
    csv.write_text(f"SEQUENTIAL\n{ext};{password};{contact_port};{expires}\n")
    return run(["-sf", str(SCENARIOS / "register.xml"), "-inf", str(csv), "-au", ext,
                "-ap", password, f"127.0.0.1:{server_port}", "-m", "1", "-i", "127.0.0.1",
                "-p", "0", "-timeout", "20", "-timeout_error"], cwd)  # fmt: skip
