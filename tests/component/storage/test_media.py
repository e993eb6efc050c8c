"""Recordings (started, finished, unfinished after a crash, retention delete) and voicemail
boxes (argon2 PIN, messages, heard, deleted)."""

import pytest
from sqlalchemy import select

from callcenter.storage import Conflict, NotFound, Storage, ValidationFailed
from callcenter.storage.repos.calls import CallTimes
from callcenter.storage.schema import Mailbox

from .helpers import at


def test_recording_life_and_link_from_cdr(store: Storage) -> None:
    store.cdrs.open_call("c1", "1", "2", at())
    rec = store.recordings.start("c1", "/var/rec/c1.wav", 2, at(5), agent_id=1001, queue="billing")
    assert store.recordings.unfinished() == [rec]
    done = store.recordings.finish(rec.id, at(65), 60.0, 960_044)
    assert (done.ended_at, done.duration_seconds, done.size_bytes) == (at(65), 60.0, 960_044)
    assert store.recordings.unfinished() == []
    cdr = store.cdrs.close_call("c1", at(65), "answered", CallTimes(), recording_id=rec.id)
    assert cdr.recording_id == rec.id
    assert store.recordings.for_call("c1") == [done]
    assert store.recordings.search(at(0), at(10), agent_id=1001) == [done]
    assert store.recordings.search(at(0), at(10), queue="repair") == []
    assert store.recordings.delete(rec.id) == "/var/rec/c1.wav"
    assert store.cdrs.get("c1").recording_id is None  # type: ignore[union-attr]


def test_recording_validation(store: Storage) -> None:
    with pytest.raises(ValidationFailed):
        store.recordings.start("c", "/x.wav", 3, at())
    rec = store.recordings.start("c", "/x.wav", 1, at())
    with pytest.raises(ValidationFailed):
        store.recordings.finish(rec.id, at(1), -1.0, 0)
    with pytest.raises(Conflict):
        store.recordings.start("d", "/x.wav", 1, at())  # one row per file
    with pytest.raises(NotFound):
        store.recordings.finish(rec.id + 999, at(1), 1.0, 1)


def test_mailbox_pin_is_hashed_and_checked(store: Storage) -> None:
    store.voicemail.create_mailbox("agent:1001", pin="2468", email="a@example.org")
    with store.db.transaction() as s:
        stored = s.scalars(select(Mailbox.pin_hash)).one()
    assert stored is not None and stored.startswith("$argon2") and "2468" not in stored
    assert store.voicemail.check_pin("agent:1001", "2468")
    assert not store.voicemail.check_pin("agent:1001", "1357")
    assert not store.voicemail.check_pin("nobody", "2468")
    store.voicemail.create_mailbox("general")
    assert not store.voicemail.check_pin("general", "")
    with pytest.raises(ValidationFailed):
        store.voicemail.create_mailbox("bad", pin="12")


def test_voicemail_messages(store: Storage) -> None:
    store.voicemail.create_mailbox("queue:billing")
    m1 = store.voicemail.leave("queue:billing", "13800000001", "/vm/1.wav", 12.5, at(1), "c1")
    m2 = store.voicemail.leave("queue:billing", "13800000002", "/vm/2.wav", 3.0, at(2))
    store.voicemail.mark_heard(m1.id, at(10))
    store.voicemail.mark_heard(m1.id, at(20))  # the first listen counts
    store.voicemail.delete_message(m2.id)
    listed = store.voicemail.messages("queue:billing")
    assert [(m.id, m.heard_at) for m in listed] == [(m1.id, at(10))]
    assert len(store.voicemail.messages("queue:billing", include_deleted=True)) == 2
    store.voicemail.set_greeting("queue:billing", "/vm/greeting.wav")
    box = store.voicemail.mailbox("queue:billing")
    assert box is not None and box.greeting_path == "/vm/greeting.wav"
    with pytest.raises(NotFound):
        store.voicemail.leave("nope", "1", "/vm/3.wav", 1.0, at())
