"""The CTI API (SPEC §4, §5, §13, §14, §16): REST + WebSocket over FastAPI.

``create_app(ApiDeps(store, center, credentials, realm))`` builds the application; the runtime
serves it with ``EmbeddedServer`` in the same event loop. docs/api.md is the guide.
"""

from callcenter.api.app import create_app
from callcenter.api.deps import ApiDeps, ApiSettings
from callcenter.api.server import EmbeddedServer, start_api, stop_api

__all__ = ["ApiDeps", "ApiSettings", "EmbeddedServer", "create_app", "start_api", "stop_api"]
