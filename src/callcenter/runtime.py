"""Composition root: the only place where the server's objects are built and wired together.

``run(config)`` installs uvloop when available, starts every shell (SIP transports, media, API),
and stops them all cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import gc
import random
import signal
import ssl
from contextlib import suppress
from datetime import UTC, datetime

import yaml

from callcenter import __version__, _compiled
from callcenter.acd import Acd
from callcenter.api import ApiDeps, create_app, start_api, stop_api
from callcenter.calls.acd_config import queue_config
from callcenter.calls.agents import AgentDirectory, OwnCustomersLookup, PhoneLogin
from callcenter.calls.center import ContactCenter
from callcenter.calls.service import CallService, EchoTest
from callcenter.calls.stats import snapshot
from callcenter.calls.stored_flows import with_stored_flows
from callcenter.calls.trunks import TrunkService
from callcenter.config import Config
from callcenter.dialplan import Dialplan, parse_dialplan
from callcenter.ivr.flow import load_flow_text
from callcenter.ivr.registry import FlowRegistry
from callcenter.logs import get_logger, setup_logging
from callcenter.lookup.demo import load_demo_dialplan, load_demo_flows
from callcenter.media.control import LocalMedia
from callcenter.media.engine import MediaEngine
from callcenter.media.worker import WorkerPool
from callcenter.sip.auth import DigestChallenger
from callcenter.sip.endpoint import SipEndpoint
from callcenter.sip.registrar import Registrar
from callcenter.sip.ua import Call, UserAgent
from callcenter.sip_credentials import CredentialCache
from callcenter.storage import demo
from callcenter.storage.aio import AsyncStorage
from callcenter.storage.db import database_url
from callcenter.storage.store import Storage
from callcenter.transport.stack import SipStack

log = get_logger("callcenter.runtime")


def _tls_context(config: Config) -> ssl.SSLContext | None:
    tls = config.sip.tls
    if not tls.enabled or tls.certfile is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(tls.certfile), str(tls.keyfile) if tls.keyfile else None)
    return ctx


def build_registrar(config: Config, secure: random.Random, creds: CredentialCache) -> Registrar:
    """The registrar; its digest nonces are keyed by a secret drawn from the OS."""
    secret = secure.getrandbits(256).to_bytes(32, "big")
    challenger = DigestChallenger(
        config.sip.realm, secret, config.sip.nonce_ttl, algorithms=config.sip.auth_algorithms
    )
    return Registrar(
        config.sip.realm,
        challenger,
        creds,
        min_expires=config.sip.registration_min_expires,
        max_expires=min(config.sip.registration_max_expires, 3600),
        default_expires=min(3600, config.sip.registration_max_expires),
    )


def open_storage(config: Config) -> Storage:
    """Open (and migrate) the database, close calls a crash left open, seed the demo."""
    url = database_url(config.database.url, config.server.data_dir)
    store = Storage.open(url)
    now = datetime.now(UTC)
    interrupted = store.recover(now)
    if interrupted:
        log.warning("storage.recovered", interrupted_calls=len(interrupted))
    if config.server.demo:
        report = demo.seed(store, config.sip.realm, now)
        log.info("storage.demo_seeded", created=report.total)
    return store


def load_routing(config: Config) -> tuple[Dialplan, FlowRegistry]:
    """The dialplan and the IVR flows: the demo ones, or the files the configuration names."""
    flows = load_demo_flows()
    if config.ivr.flows_dir is not None:
        for path in sorted(config.ivr.flows_dir.glob("*.y*ml")) + sorted(
            config.ivr.flows_dir.glob("*.json")
        ):
            text = path.read_text(encoding="utf-8")
            flows.publish(load_flow_text(text, "json" if path.suffix == ".json" else "yaml"))
    if config.ivr.dialplan is None:
        return load_demo_dialplan(), flows
    data = yaml.safe_load(config.ivr.dialplan.read_text(encoding="utf-8"))
    return parse_dialplan(data), flows


def secure_seed() -> int:
    return random.SystemRandom().getrandbits(64)


def known_caller(call: Call, trunks: TrunkService, registrar: Registrar, now: float) -> bool:
    """A trunk's inbound IP, or the address of a phone registered here."""
    host = call.peer.host
    if trunks.trunk_for_source(host) is not None:
        return True
    return any(
        b.source[1] == host and b.expires_at > now
        for bindings in registrar.bindings().values()
        for b in bindings
    )


async def build_center(
    config: Config, calls: CallService, registrar: Registrar, store: Storage
) -> ContactCenter:
    """The ACD with the stored queues, the agent directory, dialplan, flows and lookups."""
    aio = AsyncStorage(store)
    directory = AgentDirectory()
    queues = await aio.run(store.queues.all)
    await aio.run(directory.reload, store)
    acd = Acd(random.Random(secure_seed()))
    center = ContactCenter(calls, acd, directory, registrar, aio, config.server.data_dir)
    for rec in queues:
        if rec.enabled:
            center.command(acd.add_queue, queue_config(rec), calls.now())
            center.recording_policies[rec.name] = rec.settings.recording_policy
            every = rec.settings.announcements.get("position_every_seconds", 0)
            center.announce_every[rec.name] = float(every) if isinstance(every, int | float) else 0
    center.dialplan, files = load_routing(config)
    center.flows = await aio.run(with_stored_flows, files, store)  # activations survive restarts
    center.apply_schedules(await aio.run(store.schedules.all))  # stored hours and holidays
    center.lookup = OwnCustomersLookup(aio)
    calls.registration_listeners.append(PhoneLogin(acd, directory, calls.now, center.apply))
    trunks = TrunkService(calls.ua, calls.kick, calls.now, random.Random(secure_seed()))
    await trunks.load(await aio.run(store.trunks.all))
    center.trunks = trunks
    if not config.sip.allow_unknown_callers:
        calls.screen = lambda call: known_caller(call, trunks, registrar, calls.now())
    log.info("acd.ready", queues=len(queues), agents=len(directory.by_id))
    return center


async def start_sip(config: Config, stack: SipStack) -> None:
    sip = config.sip
    hosts = [sip.bind] + ([sip.bind6] if sip.bind6 else [])
    for host in hosts:
        if sip.udp:
            await stack.listen_udp(host, sip.port)
        if sip.tcp:
            await stack.listen_stream(host, sip.port)
        tls = _tls_context(config)
        if tls is not None:
            await stack.listen_stream(host, sip.tls.port, tls)
        log.info("sip.listening", host=host, port=sip.port, udp=sip.udp, tcp=sip.tcp,
                 tls=tls is not None)  # fmt: skip


async def start_media(config: Config) -> LocalMedia | WorkerPool:
    """The media engine in this process (``rtp.workers`` 0) or one process per worker."""
    rtp, cache = config.rtp, config.server.data_dir / "prompts"
    native = config.media.native_relay
    if rtp.workers == 0:
        engine = MediaEngine(rtp.port_min, rtp.port_max, cache_dir=cache, native_relay=native)
        return LocalMedia(engine)
    pool = WorkerPool(rtp.workers, rtp.port_min, rtp.port_max, cache_dir=cache, native_relay=native)
    await pool.start()
    log.info("media.workers_started", workers=rtp.workers)
    return pool


async def serve(config: Config, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set. Services are started here in dependency order."""
    config.server.data_dir.mkdir(parents=True, exist_ok=True)
    store = await asyncio.to_thread(open_storage, config)
    creds = CredentialCache()
    await asyncio.to_thread(creds.reload, store, config.sip.realm)
    log.info("sip.credentials_loaded", extensions=len(creds) // 2)
    secure = random.SystemRandom()  # secrets (digest nonce key) come from the OS
    rng = random.Random(secure.getrandbits(256))  # tags, branches, Call-IDs: unique, not secret
    media = await start_media(config)
    endpoint = SipEndpoint(rng, server_name=f"{config.sip.user_agent}/{__version__}")
    ua = UserAgent(endpoint, rng, min_session_expires=config.sip.min_session_expires)
    stack = SipStack(ua)
    registrar = build_registrar(config, secure, creds)
    calls = CallService(ua, media, registrar, stack.kick, stack.now)
    stack.handler = calls.handle
    calls.max_calls = config.sip.max_calls
    calls.max_lag = config.sip.overload_lag_ms / 1000
    calls.start_lag_monitor()
    calls.routers.append(EchoTest(config.sip.echo_extension))
    center = await build_center(config, calls, registrar, store)
    calls.routers.append(center)
    media.on_dtmf = lambda ev: calls.on_digit(ev.call_id, ev.digit)
    await start_sip(config, stack)
    api_app = create_app(ApiDeps(center.store, center, creds, config.sip.realm))
    api = await start_api(api_app, config.web.host, config.web.port)
    # Everything built so far lives as long as the server: keep it out of the collector's
    # scans, and collect the young generation less often (GC was a fifth of the CPU per call).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    log.info("server.started", version=__version__, node=config.server.node_name)
    log.info("acd.core", compiled=_compiled.active(), reason=_compiled.reason() or None)
    with suppress(NotImplementedError):  # kill -USR1: per-call tables, tasks, memory
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(
            signal.SIGUSR1, lambda: log.info("server.stats", **snapshot(center))
        )
    await stop.wait()
    await stop_api(*api)
    if center.trunks is not None:
        center.trunks.close()
    await calls.close()
    await center.close()
    await stack.close()
    await media.close()
    store.close()
    log.info("server.stopped")


async def _main(config: Config) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await serve(config, stop)


def run(config: Config) -> int:
    setup_logging(config.server.log_level, config.server.log_format)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        log.warning("uvloop.missing")
        asyncio.run(_main(config))
    else:
        uvloop.run(_main(config))
    return 0
