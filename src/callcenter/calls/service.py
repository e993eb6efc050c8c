"""The call service: what the server does with each SIP event (the B2BUA's application side).

It receives the user agent's events in order (``handle``), starts one asyncio task per call
for the slow parts (media ports, prompts) and answers through the user agent, then ``kick``s the
SIP stack so the bytes leave at once. Routing of a new call by its called number is delegated to
``Router``s tried in order (echo test, extensions, the dialplan); the first that claims the call
owns it. REGISTER goes to the registrar. An error in one call's task is logged with its
call-id and ends that call only; it never reaches another call.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from callcenter.calls.guard import AuthGuard
from callcenter.calls.media_session import MediaSession, NoCodec
from callcenter.logs import get_logger
from callcenter.media.control import MediaControl
from callcenter.sip.endpoint import MessageRejected
from callcenter.sip.errors import SipSyntaxError
from callcenter.sip.message import Request, Response
from callcenter.sip.registrar import ContactRegistered, RegistrationRejected
from callcenter.sip.replaces import parse_replaces
from callcenter.sip.ua import (
    Call,
    CallConfirmed,
    CallEnded,
    CallFailed,
    CallProgress,
    IncomingCall,
    InDialogRequest,
    NonDialogRequest,
    UaEvent,
    UserAgent,
)

log = get_logger("callcenter.calls")
LAG_SAMPLES = 3  # consecutive late samples (0.1 s apart) before new calls are shed


class RegistrarLike(Protocol):
    def handle(self, request: Request, source: Any, now: float) -> tuple[Response, list[Any]]: ...


class Router(Protocol):
    """Claims a new call by returning a coroutine that handles it, or None to pass."""

    def route(self, service: CallService, call: Call) -> Coroutine[Any, Any, None] | None: ...


class CallService:
    def __init__(
        self,
        ua: UserAgent,
        media: MediaControl,
        registrar: RegistrarLike | None,
        kick: Callable[[], None],
        now: Callable[[], float],
    ) -> None:
        self.ua = ua
        self.media = media
        self.registrar = registrar
        self.kick = kick
        self.now = now
        self.routers: list[Router] = []
        self.sessions: dict[str, MediaSession] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.ended: dict[str, asyncio.Event] = {}
        self.background: set[asyncio.Task[None]] = set()
        # Outgoing legs (agent phones) report their events to whoever placed them.
        self.watchers: dict[str, Callable[[UaEvent], None]] = {}
        # DTMF of a call (RFC 4733 from the media engine, or SIP INFO) by its SIP Call-ID.
        self.dtmf_listeners: dict[str, Callable[[str], None]] = {}
        # Requests inside legs we placed (re-INVITE for hold, REFER) go to the leg's owner,
        # which returns False to let the default handling answer.
        self.dialog_handlers: dict[str, Callable[[InDialogRequest], bool]] = {}
        self.registration_listeners: list[Callable[[object], None]] = []
        self.prune_every = 1.0  # seconds between sweeps of watchers/handlers of ended calls
        self._next_prune = 0.0
        self._registrar_timer: asyncio.TimerHandle | None = None
        # Who may call in (None: anyone): trunk IPs, registered phones... set by the runtime.
        self.screen: Callable[[Call], bool] | None = None
        self.guard = AuthGuard()
        # Overload protection (SPEC §15): new calls get 503 + Retry-After when the event loop
        # lags (it is behind its own work) or too many calls are up; calls in progress go on.
        self.max_calls = 2000
        self.max_lag = 0.5
        self.lag = 0.0
        self._lags: deque[float] = deque(maxlen=LAG_SAMPLES)
        self._lag_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------- SIP events
    def handle(self, events: list[UaEvent]) -> None:
        for ev in events:
            try:
                self._dispatch(ev)
            except Exception:  # one bad event must never stop the others
                log.exception("calls.event_failed", event=type(ev).__name__)
        now = self.now()
        if now >= self._next_prune:
            self._next_prune = now + self.prune_every
            self.prune()

    def prune(self) -> None:
        """Forget the watchers and dialog handlers of calls the user agent no longer has.

        A leg we hang up ourselves (BYE) ends without an event, so ``_dispatch`` never drops
        its watcher: without this sweep every such leg stayed in ``watchers`` for the life of
        the process (one per inbound call). A call whose event is still queued in the user
        agent keeps its watcher until that event has been handled."""
        live = self.ua.calls
        queued = {
            call.id for ev in self.ua.events if isinstance(call := getattr(ev, "call", None), Call)
        }
        for table in (self.watchers, self.dialog_handlers):
            gone = [cid for cid in table if cid not in live and cid not in queued]
            for cid in gone:
                del table[cid]

    def overloaded(self) -> bool:
        return len(self.tasks) >= self.max_calls or self.lag > self.max_lag

    def start_lag_monitor(self, interval: float = 0.1) -> None:
        """Measure how late the loop runs a timer: the lag that ``overloaded`` sheds on."""

        async def monitor() -> None:
            loop = asyncio.get_running_loop()
            while True:
                before = loop.time()
                await asyncio.sleep(interval)
                self.note_lag(loop.time() - before - interval)

        self._lag_task = asyncio.create_task(monitor())

    def note_lag(self, late: float) -> None:
        """One lag sample. The lag that sheds is the smallest of the last ``LAG_SAMPLES``: a
        loop that is behind its work is late at every sample, while one stall of the whole
        process (the OS scheduling other work on a busy machine, a full garbage collection)
        makes one late sample. Shedding on that one sample turned away a second or two of
        new calls after every stall on a shared machine (bench/inbound, docs/performance.md)."""
        self._lags.append(max(0.0, late))
        self.lag = min(self._lags)

    def watch(self, call: Call, fn: Callable[[UaEvent], None]) -> None:
        self.watchers[call.id] = fn

    def on_digit(self, sip_call_id: str, digit: str) -> None:
        listener = self.dtmf_listeners.get(sip_call_id)
        if listener is not None:
            listener(digit)

    def _dispatch(self, ev: UaEvent) -> None:
        call = getattr(ev, "call", None)
        watched = isinstance(ev, CallProgress | CallConfirmed | CallFailed | CallEnded)
        if watched and call is not None and call.id in self.watchers:
            watcher = self.watchers[call.id]
            if isinstance(ev, CallEnded | CallFailed):
                del self.watchers[call.id]
            watcher(ev)
            return
        if isinstance(ev, IncomingCall):
            self._incoming(ev.call)
        elif isinstance(ev, CallConfirmed):
            log.info("call.confirmed", call_id=ev.call.invite.call_id)
        elif isinstance(ev, CallEnded | CallFailed):
            self._ended(ev.call, ev.reason if isinstance(ev, CallEnded) else str(ev.status))
        elif isinstance(ev, InDialogRequest):
            self._in_dialog(ev)
        elif isinstance(ev, NonDialogRequest):
            self._non_dialog(ev)
        elif isinstance(ev, MessageRejected):
            log.info(
                "sip.rejected",
                call_id=ev.call_id,
                source=f"{ev.source.host}:{ev.source.port}",
                status=ev.status,
                reason=ev.reason,
            )

    def _incoming(self, call: Call) -> None:
        cid = call.invite.call_id
        log.info("call.incoming", call_id=cid, caller=call.caller, called=call.called,
                 source=f"{call.peer.host}:{call.peer.port}")  # fmt: skip
        if self.overloaded():
            self.ua.reject(call, 503, self.now(), headers=[("retry-after", "5")])
            log.warning("call.shed", call_id=cid, calls=len(self.tasks), lag=round(self.lag, 3))
            return
        if self.screen is not None and not self.screen(call):
            self.ua.reject(call, 403, self.now())
            log.warning("call.refused", call_id=cid, source=call.peer.host, reason="unknown caller")
            return
        replaces = call.invite.headers.get("replaces")
        if replaces is not None:
            self._replacing(call, replaces)
            return
        for router in self.routers:
            coro = router.route(self, call)
            if coro is not None:
                self.ended[call.id] = asyncio.Event()
                self.tasks[call.id] = asyncio.create_task(self._run(call, coro))
                return
        self.ua.reject(call, 404, self.now())
        log.info("call.rejected", call_id=cid, status=404, reason="no route")

    def _replacing(self, call: Call, value: str) -> None:
        """INVITE with Replaces (RFC 3891 §3): 400 when malformed, 481 when it names no live
        dialog of ours. Taking over one of our legs by INVITE (directed pickup) is not
        offered: a match is refused by policy (403); attended transfers from phones arrive
        as REFER with Replaces (calls/control.py)."""
        cid, now = call.invite.call_id, self.now()
        try:
            found = self.ua.find_dialog(parse_replaces(value))
        except SipSyntaxError:
            self.ua.reject(call, 400, now, reason="Bad Replaces")
            log.info("call.rejected", call_id=cid, status=400, reason="bad replaces")
            return
        status = 481 if found is None else 403
        self.ua.reject(call, status, now)
        log.info("call.rejected", call_id=cid, status=status, reason="replaces")

    async def _run(self, call: Call, coro: Coroutine[Any, Any, None]) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            pass
        except NoCodec:
            self.ua.reject(call, 488, self.now())
            log.info("call.rejected", call_id=call.invite.call_id, status=488)
        except Exception:
            log.exception("call.failed", call_id=call.invite.call_id)
            self.hangup(call)
        finally:
            self.tasks.pop(call.id, None)
            await self.release(call)
            self.kick()

    def _ended(self, call: Call, reason: str) -> None:
        log.info("call.ended", call_id=call.invite.call_id, reason=reason)
        done = self.ended.get(call.id)
        if done is not None:
            done.set()

    def _in_dialog(self, ev: InDialogRequest) -> None:
        req = ev.request
        now = self.now()
        handler = self.dialog_handlers.get(ev.call.id)
        if handler is not None and handler(ev):
            return
        if req.method == "INVITE":
            ev.call.user_data["refreshed"] = now  # a re-INVITE refreshes the session (RFC 4028)
            session = self.sessions.get(ev.call.id)
            if session is None:
                self.ua.respond(ev.txn, req, 488, now)
                return
            try:
                answer = session.reoffer(req.body)
            except NoCodec:
                self.ua.respond(ev.txn, req, 488, now)
                return
            self.ua.respond(ev.txn, req, 200, now, body=answer, content_type="application/sdp")
            task = asyncio.create_task(session.apply_remote(self.media))
            self.background.add(task)
            task.add_done_callback(self.background.discard)
        elif req.method == "INFO":
            self.ua.respond(ev.txn, req, 200, now)
            session = self.sessions.get(ev.call.id)
            digit = MediaSession.info_dtmf(req.body)
            if digit is not None and session is not None:
                self.on_digit(ev.call.invite.call_id, digit)
        else:
            self.ua.respond(ev.txn, req, 501, now)

    def _non_dialog(self, ev: NonDialogRequest) -> None:
        req = ev.request
        now = self.now()
        if req.method == "REGISTER" and self.registrar is not None:
            host = ev.source.host
            if self.guard.blocked(host, now):
                self.ua.respond(ev.txn, req, 403, now, reason="Too Many Failed Attempts")
                return
            resp, events = self.registrar.handle(req, ev.source, now)
            self.ua.endpoint.respond(ev.txn, resp, now)
            self._guard_events(host, events, now)
            self._registrar_events(events)
            return
        self.ua.respond(ev.txn, req, 405 if req.method == "REGISTER" else 481, now)

    def _guard_events(self, host: str, events: list[Any], now: float) -> None:
        for rev in events:
            if isinstance(rev, RegistrationRejected) and self.guard.failed(host, rev.reason, now):
                log.warning("sip.source_banned", source=host, seconds=self.guard.ban,
                            reason="repeated authentication failures")  # fmt: skip
            elif isinstance(rev, ContactRegistered):
                self.guard.succeeded(host)

    def _registrar_events(self, events: list[Any]) -> None:
        for rev in events:
            log.info("sip.registrar", event=type(rev).__name__, **_fields(rev))
            for listener in self.registration_listeners:
                listener(rev)
        self._arm_registrar()

    def _arm_registrar(self) -> None:
        """Expire bindings at their deadline (the registrar is pure; this is its clock)."""
        registrar = self.registrar
        deadline = getattr(registrar, "next_deadline", lambda: None)()
        if self._registrar_timer is not None:
            self._registrar_timer.cancel()
            self._registrar_timer = None
        if deadline is not None:
            loop = asyncio.get_running_loop()
            self._registrar_timer = loop.call_at(deadline + 0.01, self._expire_bindings)

    def _expire_bindings(self) -> None:
        self._registrar_timer = None
        expire = getattr(self.registrar, "expire", None)
        if expire is not None:
            self._registrar_events(expire(self.now()))

    # ------------------------------------------------------------ call helpers
    async def open_media(self, call: Call) -> MediaSession:
        """Allocate RTP for ``call`` and negotiate its offer; raises NoCommonCodec."""
        local_ip, _ = self.ua.endpoint.local_for(call.peer)
        leg = await self.media.create_endpoint(call.invite.call_id, local_ip, group=call.id)
        session = MediaSession(call, leg)
        self.sessions[call.id] = session
        session.answer_offer(call.remote_sdp)
        await session.apply_remote(self.media)
        return session

    def answer(self, call: Call, session: MediaSession) -> None:
        self.ua.answer(call, session.local_sdp, self.now())
        self.kick()
        interval = session_interval(call.invite)
        if interval is not None:
            call.user_data["refreshed"] = self.now()
            self._arm_session_timer(call, interval)

    def _arm_session_timer(self, call: Call, interval: int) -> None:
        """RFC 4028 §10: without a refresh, BYE at min(32, interval/3) before expiry."""
        last = call.user_data.get("refreshed")
        assert isinstance(last, float)
        due = last + interval - min(32.0, interval / 3)
        asyncio.get_running_loop().call_at(due, self._check_session, call, interval)

    def _check_session(self, call: Call, interval: int) -> None:
        if call.state == "ended":
            return
        last = call.user_data.get("refreshed")
        assert isinstance(last, float)
        if self.now() < last + interval - min(32.0, interval / 3):
            self._arm_session_timer(call, interval)  # refreshed since: wait again
            return
        log.info("call.session_expired", call_id=call.invite.call_id, interval=interval)
        self.hangup(call)

    def hangup(self, call: Call) -> None:
        self.ua.bye(call, self.now())
        self.kick()

    async def wait_ended(self, call: Call) -> None:
        done = self.ended.get(call.id)
        if done is not None:
            await done.wait()

    async def release(self, call: Call) -> None:
        session = self.sessions.pop(call.id, None)
        self.ended.pop(call.id, None)
        if session is not None:
            await self.media.release(session.leg)

    async def close(self) -> None:
        if self._lag_task is not None:
            self._lag_task.cancel()
        for task in list(self.tasks.values()):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)


def session_interval(invite: Request) -> int | None:
    """The Session-Expires interval the caller asked for (RFC 4028 §4), if any."""
    value = invite.headers.get("session-expires")
    if value is None:
        return None
    number = value.split(";", 1)[0].strip()
    return int(number) if number.isdigit() and 0 < int(number) < 2**31 else None


def _fields(event: object) -> dict[str, object]:
    names = getattr(event, "__dataclass_fields__", {})
    return {n: str(getattr(event, n)) for n in names}


class EchoTest:
    """Dial the echo extension (9196): answer and send every packet back."""

    def __init__(self, extension: str) -> None:
        self.extension = extension

    def route(self, service: CallService, call: Call) -> Coroutine[Any, Any, None] | None:
        if call.called != self.extension:
            return None
        return self._run(service, call)

    async def _run(self, service: CallService, call: Call) -> None:
        session = await service.open_media(call)
        await service.media.echo(session.leg)
        service.answer(call, session)
        await service.wait_ended(call)
