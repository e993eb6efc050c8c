"""Users, login lockout, API tokens (hash only), audit log, SIP digest HA1 (RFC 7616 §3.9.1)."""

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from callcenter.storage import Conflict, NotFound, Storage, ValidationFailed
from callcenter.storage.hashing import token_hash
from callcenter.storage.repos.telephony import RegistrationRecord
from callcenter.storage.schema import ApiToken, SipCredential, User

from .helpers import at


def test_user_password_is_stored_only_as_argon2(store: Storage) -> None:
    store.users.create("alice", "Alice", "supervisor", "correct horse", at())
    with store.db.transaction() as s:
        stored = s.scalars(select(User.password_hash)).one()
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert store.users.authenticate("alice", "correct horse", at(1)).outcome == "ok"


@pytest.mark.parametrize(
    ("username", "role", "password", "error"),
    [
        ("bob", "root", "secret-1", ValidationFailed),
        ("bob", "agent", "short", ValidationFailed),
        ("", "agent", "secret-1", ValidationFailed),
    ],
)
def test_user_create_validates(
    store: Storage, username: str, role: str, password: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        store.users.create(username, "B", role, password, at())
    assert store.users.all() == []


def test_duplicate_username_is_a_conflict(store: Storage) -> None:
    store.users.create("carol", "Carol", "agent", "secret-1", at())
    with pytest.raises(Conflict):
        store.users.create("carol", "Other", "agent", "secret-2", at())
    assert [u.display_name for u in store.users.all()] == ["Carol"]


def test_lockout_after_max_failures_then_unlock_by_time(store: Storage) -> None:
    user = store.users.create("dave", "Dave", "agent", "secret-1", at())
    outcomes = [store.users.authenticate("dave", "wrong", at(i)).outcome for i in range(5)]
    assert outcomes == ["bad_credentials"] * 4 + ["locked"]
    locked = store.users.authenticate("dave", "secret-1", at(10))
    assert locked.outcome == "locked"
    assert locked.locked_until == at(4) + timedelta(minutes=15)
    assert store.users.authenticate("dave", "secret-1", at(4 + 15 * 60)).outcome == "ok"
    assert store.users.get(user.id) is not None
    assert store.users.get(user.id).failed_logins == 0  # type: ignore[union-attr]


def test_success_resets_the_failure_counter(store: Storage) -> None:
    store.users.create("erin", "Erin", "agent", "secret-1", at())
    for i in range(4):
        store.users.authenticate("erin", "wrong", at(i))
    assert store.users.authenticate("erin", "secret-1", at(5)).outcome == "ok"
    for i in range(4):
        assert store.users.authenticate("erin", "wrong", at(10 + i)).outcome == "bad_credentials"


def test_disabled_and_unknown_users_cannot_log_in(store: Storage) -> None:
    user = store.users.create("frank", "Frank", "agent", "secret-1", at())
    store.users.update(user.id, enabled=False)
    assert store.users.authenticate("frank", "secret-1", at()).outcome == "disabled"
    assert store.users.authenticate("nobody", "secret-1", at()).outcome == "bad_credentials"


def test_set_password_and_update(store: Storage) -> None:
    user = store.users.create("gina", "Gina", "agent", "secret-1", at())
    store.users.set_password(user.id, "secret-2", at(60))
    assert store.users.authenticate("gina", "secret-1", at(61)).outcome == "bad_credentials"
    assert store.users.authenticate("gina", "secret-2", at(62)).outcome == "ok"
    updated = store.users.update(user.id, display_name="Gina L.", role="administrator")
    assert (updated.display_name, updated.role, updated.password_changed_at) == (
        "Gina L.",
        "administrator",
        at(60),
    )
    with pytest.raises(NotFound):
        store.users.update(9999, enabled=False)


def test_token_is_stored_as_hash_and_resolves_until_expiry(store: Storage) -> None:
    user = store.users.create("hank", "Hank", "agent", "secret-1", at())
    issued = store.tokens.issue(user.id, "session", at(), timedelta(hours=1))
    with store.db.transaction() as s:
        stored = s.scalars(select(ApiToken.token_hash)).one()
    assert stored == token_hash(issued.token) != issued.token
    owner = store.tokens.resolve(issued.token, at(60))
    assert owner is not None
    assert (owner.user.username, owner.token.last_used_at) == ("hank", at(60))
    assert store.tokens.resolve(issued.token, at(3600)) is None  # expired
    assert store.tokens.resolve("not-a-token", at(60)) is None


def test_last_used_is_written_at_most_once_a_minute(store: Storage) -> None:
    user = store.users.create("hal", "Hal", "agent", "secret-1", at())
    issued = store.tokens.issue(user.id, "session", at(), timedelta(hours=1))
    seen = []
    for t in (10, 40, 69, 70, 75, 131):
        owner = store.tokens.resolve(issued.token, at(t))
        assert owner is not None
        seen.append(owner.token.last_used_at)
    assert seen == [at(10), at(10), at(10), at(70), at(70), at(131)]


def test_revoked_tokens_and_disabled_users_do_not_resolve(store: Storage) -> None:
    user = store.users.create("ivy", "Ivy", "agent", "secret-1", at())
    a = store.tokens.issue(user.id, "api", at(), None, name="crm")
    b = store.tokens.issue(user.id, "session", at(), None)
    store.tokens.revoke(a.record.id, at(5))
    assert store.tokens.resolve(a.token, at(6)) is None
    assert store.tokens.resolve(b.token, at(6)) is not None
    store.users.update(user.id, enabled=False)
    assert store.tokens.resolve(b.token, at(7)) is None
    store.users.update(user.id, enabled=True)
    assert store.tokens.revoke_user(user.id, at(8)) == 1
    assert store.tokens.resolve(b.token, at(9)) is None


def test_audit_log_records_and_filters(store: Storage) -> None:
    store.audit.record("sup", "force_logout", "agent:1001", "ok", at(1), details={"why": "x"})
    store.audit.record("sup", "barge_in", "call:c1", "denied", at(2))
    store.audit.record("admin", "queue.update", "queue:billing", "ok", at(3), source="10.0.0.1")
    assert [e.action for e in store.audit.query()] == ["queue.update", "barge_in", "force_logout"]
    assert [e.target for e in store.audit.query(actor="sup", since=at(2))] == ["call:c1"]
    assert store.audit.query(action="force_logout")[0].details == {"why": "x"}
    with pytest.raises(ValidationFailed):
        store.audit.record("sup", "x", "y", "maybe", at())


# RFC 7616 §3.9.1: the example request and the responses the RFC publishes for it.
RFC = {
    "username": "Mufasa",
    "realm": "http-auth@example.org",
    "password": "Circle of Life",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    "nc": "00000001",
    "qop": "auth",
    "method": "GET",
    "uri": "/dir/index.html",
}
RFC_RESPONSES = {
    "md5": "8ca523f5e9506fed4657c9700eebdbec",
    "sha256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
}


def _response(ha1: str, algo: str) -> str:
    def h(v: str) -> str:
        return hashlib.new(algo, v.encode()).hexdigest()

    ha2 = h(f"{RFC['method']}:{RFC['uri']}")
    return h(f"{ha1}:{RFC['nonce']}:{RFC['nc']}:{RFC['cnonce']}:{RFC['qop']}:{ha2}")


def test_extension_keeps_ha1_that_answers_the_rfc_7616_example(store: Storage) -> None:
    ext = store.extensions.create("8001", at(), username=RFC["username"])
    store.extensions.set_password(ext.id, RFC["realm"], RFC["password"], at())
    cred = store.extensions.credentials(RFC["username"], RFC["realm"])
    assert cred is not None
    assert _response(cred.ha1_md5, "md5") == RFC_RESPONSES["md5"]
    assert _response(cred.ha1_sha256, "sha256") == RFC_RESPONSES["sha256"]
    assert (cred.ha1("md5"), cred.ha1("SHA-256-sess")) == (cred.ha1_md5, cred.ha1_sha256)
    assert cred.ha1("SHA-512-256") is None
    with store.db.transaction() as s:
        dump = " ".join(str(v) for v in s.execute(text("SELECT * FROM sip_credentials")).one())
    assert RFC["password"] not in dump
    assert store.extensions.credentials(RFC["username"], "other-realm") is None


def test_extension_password_per_realm_and_replacement(store: Storage) -> None:
    ext = store.extensions.create("8002", at())
    store.extensions.set_password(ext.id, "a.example", "pass-one", at())
    store.extensions.set_password(ext.id, "b.example", "pass-one", at())
    first = store.extensions.credentials("8002", "a.example")
    store.extensions.set_password(ext.id, "a.example", "pass-two", at(1))
    second = store.extensions.credentials("8002", "a.example")
    assert first is not None and second is not None and first.ha1_md5 != second.ha1_md5
    assert [c.realm for c in store.extensions.all_credentials()] == ["a.example", "b.example"]
    assert len(store.extensions.all_credentials("b.example")) == 1
    with store.db.transaction() as s:
        assert len(s.scalars(select(SipCredential)).all()) == 2
    store.extensions.delete(ext.id)
    assert store.extensions.all_credentials() == []


def test_extension_validation_and_uniqueness(store: Storage) -> None:
    store.extensions.create("8003", at())
    with pytest.raises(Conflict):
        store.extensions.create("8003", at())
    with pytest.raises(ValidationFailed):
        store.extensions.create("80a3", at())
    assert [e.number for e in store.extensions.all()] == ["8003"]


def test_trunk_keeps_ha1_and_allow_list(store: Storage) -> None:
    trunk = store.trunks.create(
        "carrier", "127.0.0.1", at(), port=5070, register=True, inbound_ips=["127.0.0.1"]
    )
    store.trunks.set_auth(trunk.id, "acct", "carrier.example", "trunk-pass")
    got = store.trunks.get_by_name("carrier")
    assert got is not None
    assert got.ha1_md5 == hashlib.md5(b"acct:carrier.example:trunk-pass").hexdigest()
    assert (got.port, got.register, got.inbound_ips) == (5070, True, ["127.0.0.1"])
    updated = store.trunks.update(trunk.id, inbound_ips=["127.0.0.2"], enabled=False)
    assert (updated.inbound_ips, updated.enabled) == (["127.0.0.2"], False)
    with pytest.raises(ValidationFailed):
        store.trunks.create("bad", "h", at(), transport="sctp")


def _binding(contact: str, expires: float, **kw: object) -> RegistrationRecord:
    fields: dict[str, object] = {
        "username": "8001",
        "aor": "sip:8001@callcenter.local",
        "contact": contact,
        "transport": "udp",
        "source_host": "127.0.0.1",
        "source_port": 5062,
        "expires_at": at(expires),
        "q": None,
        "call_id": "reg-1",
        "cseq": 1,
        "updated_at": at(),
    } | kw
    return RegistrationRecord(**fields)  # type: ignore[arg-type]


def test_registrations_survive_and_expire(store: Storage) -> None:
    a = _binding("sip:8001@127.0.0.1:5062", 3600)
    b = _binding("sip:8001@127.0.0.1:5064", 60, q=0.5)
    store.registrations.save(a)
    store.registrations.save(b)
    refreshed = _binding("sip:8001@127.0.0.1:5062", 7200, cseq=2, updated_at=at(30))
    store.registrations.save(refreshed)
    assert store.registrations.live(at(30)) == [refreshed, b]
    assert store.registrations.live(at(61)) == [refreshed]
    assert store.registrations.purge_expired(at(61)) == 1
    assert store.registrations.remove("8001", refreshed.contact) == 1
    assert store.registrations.live(at(0)) == []
    with pytest.raises(ValidationFailed):
        store.registrations.save(_binding("sip:x@y", 10, transport="sctp"))
