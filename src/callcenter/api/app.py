"""``create_app(deps)``: the FastAPI application of the CTI API (SPEC §4, §5, §13, §14, §16).

Routers per feature slice (auth, agent, supervisor, admin, events), one error format, the
idempotency middleware, the event hub subscribed to the contact center's listeners, and the
webhook dispatcher started and stopped with the app's lifespan. OpenAPI is published at
``/openapi.json`` with the interactive docs at ``/docs``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from callcenter import __version__
from callcenter.api.deps import ApiDeps
from callcenter.api.errors import install_handlers
from callcenter.api.idempotency import IdempotencyCache, IdempotencyMiddleware
from callcenter.api.routes import (
    admin_config,
    admin_people,
    admin_telephony,
    agent,
    auth,
    call_control,
    customers,
    events,
    reports,
    supervise,
    supervisor,
    tickets,
)
from callcenter.api.stream import EventHub
from callcenter.api.ui import mount_ui
from callcenter.api.webhooks import WebhookDispatcher
from callcenter.native.fanout import Fanout

DESCRIPTION = """The call center's CTI API: accounts and roles, agent and supervisor operations,
administration, and the event stream. Authenticate with `POST /api/v1/auth/login` (session
cookie) or `Authorization: Bearer <token>`. Errors are `{"error": {"code", "message"}}`.
Mutating requests accept an `Idempotency-Key` header."""


def create_app(deps: ApiDeps) -> FastAPI:
    hub = EventHub(deps.wall, deps.settings.ws_queue_size, Fanout.load())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # one dispatcher per run: its queue and task belong to this run's event loop
        hooks = WebhookDispatcher(deps, hub)
        app.state.webhooks = hooks
        added = hub.publish not in deps.center.listeners
        if added:
            deps.center.listeners.append(hub.publish)
        await hooks.start()
        try:
            yield
        finally:
            await hooks.stop()
            if added:
                deps.center.listeners.remove(hub.publish)

    app = FastAPI(
        title="callcenter CTI API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.deps = deps
    app.state.hub = hub
    app.state.webhooks = WebhookDispatcher(deps, hub)  # replaced when the lifespan starts
    install_handlers(app)
    modules = (
        auth,
        agent,
        call_control,
        supervisor,
        supervise,
        customers,
        tickets,
        reports,
        admin_people,
        admin_config,
        admin_telephony,
        events,
    )
    for module in modules:
        app.include_router(module.router)
    mount_ui(app)
    ttl = deps.settings.idempotency_ttl.total_seconds()
    cache = IdempotencyCache(ttl, deps.settings.idempotency_max_entries, deps.store, deps.wall)
    app.add_middleware(IdempotencyMiddleware, cache=cache)
    return app
