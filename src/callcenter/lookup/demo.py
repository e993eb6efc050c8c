"""Demo assets: a small 'electricity customers' table (电费) in SQLite, its lookup, the flows.

``create_demo_db(path)`` creates or refreshes the table with a handful of customers, so that the
demo flow ``demo_main`` answers 您的电费余额为…元 by account number or by caller number.
``demo_lookup(path)`` is the matching read-only ``SqlLookup`` (kinds ``account`` and ``phone``).
``load_demo_flows()`` and ``load_demo_dialplan()`` read the packaged demo documents in
``callcenter/data/flows`` (the pure ``ivr`` and ``dialplan`` packages take text, not files).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

from callcenter.dialplan import Dialplan, parse_dialplan
from callcenter.ivr import FlowRegistry, load_flow_text
from callcenter.lookup.sql import SqlLookup

__all__ = [
    "DEMO_CUSTOMERS",
    "DEMO_FLOWS",
    "DEMO_QUERIES",
    "create_demo_db",
    "demo_lookup",
    "load_demo_dialplan",
    "load_demo_flows",
]

DEMO_FLOWS = ("demo_main", "demo_after_hours")

DEMO_CUSTOMERS: tuple[dict[str, object], ...] = (
    {"account_no": "100200300", "name": "张三", "phone": "13800000001", "balance_fen": 12340},
    {"account_no": "100200301", "name": "李四", "phone": "13900001234", "balance_fen": -5620},
    {"account_no": "100200302", "name": "王五", "phone": "02155550000", "balance_fen": 0},
    {"account_no": "100200303", "name": "赵六", "phone": "13700000003", "balance_fen": 100005},
)
DEMO_QUERIES = {
    "account": "SELECT account_no, name, phone, balance_fen FROM electricity_customers"
    " WHERE account_no = :key",
    "phone": "SELECT account_no, name, phone, balance_fen FROM electricity_customers"
    " WHERE phone = :key",
}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS electricity_customers (
    account_no TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    balance_fen INTEGER NOT NULL
)
"""


def create_demo_db(path: Path) -> Path:
    """Create (or reset) the demo table in the SQLite file ``path``; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(_SCHEMA)
            conn.exec_driver_sql(
                "CREATE INDEX IF NOT EXISTS ix_ec_phone ON electricity_customers(phone)"
            )
            conn.execute(
                text(
                    "INSERT OR REPLACE INTO electricity_customers "
                    "VALUES (:account_no, :name, :phone, :balance_fen)"
                ),
                list(DEMO_CUSTOMERS),
            )
    finally:
        engine.dispose()
    return path


def demo_lookup(path: Path, timeout: float = 3.0) -> SqlLookup:
    """A read-only lookup over the demo table (call ``create_demo_db`` first)."""
    return SqlLookup(f"sqlite:///{path}", DEMO_QUERIES, timeout)


def _asset(name: str) -> str:
    return resources.files("callcenter").joinpath("data", "flows", name).read_text("utf-8")


def load_demo_flows() -> FlowRegistry:
    """A registry with the demo flows published (version 1 each)."""
    registry = FlowRegistry()
    for name in DEMO_FLOWS:
        registry.publish(load_flow_text(_asset(f"{name}.yaml")))
    return registry


def load_demo_dialplan() -> Dialplan:
    """The demo dialplan: 95598 / 4008095598 to ``demo_main`` in working hours, else after-hours."""
    return parse_dialplan(yaml.safe_load(_asset("demo_dialplan.yaml")))
