"""Business lookup adapters (asyncio I/O): our own tables, an existing SQL database, HTTP/JSON.

``LookupProvider.lookup(kind, key)`` returns a record, None, or raises ``LookupFailed``;
``resolve(provider, ivr.Lookup(...))`` turns that into the IVR runner's input. Not a pure core.
"""

from callcenter.lookup.base import (
    InMemoryLookup,
    LookupFailed,
    LookupProvider,
    Record,
    RoutedLookup,
    resolve,
)
from callcenter.lookup.http import HttpLookup
from callcenter.lookup.sql import SqlLookup, readonly_url

__all__ = [
    "HttpLookup",
    "InMemoryLookup",
    "LookupFailed",
    "LookupProvider",
    "Record",
    "RoutedLookup",
    "SqlLookup",
    "readonly_url",
    "resolve",
]
