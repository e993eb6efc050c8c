"""Prompt upload (POST /api/v1/admin/prompts/{name}/{language}/audio, multipart): any audio
sox or ffmpeg reads becomes an 8 kHz mono 16-bit WAV in the prompts directory and the prompt's
file; listening returns it. Not audio, empty or too large: 4xx with a message, nothing stored.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from callcenter.api.routes import admin_config

from .conftest import Api

pytestmark = pytest.mark.skipif(
    shutil.which("sox") is None or shutil.which("ffmpeg") is None,
    reason="sox and ffmpeg convert uploads",
)
URL = "/api/v1/admin/prompts/{name}/zh/audio"


def stereo_wav(seconds: float = 1.0, rate: int = 44100, hz: float = 440.0) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    tone = (np.sin(2 * np.pi * hz * t) * 12000).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.repeat(tone, 2).tobytes())
    return buf.getvalue()


def read_wav(data: bytes) -> tuple[tuple[int, int, int], np.ndarray]:
    with wave.open(io.BytesIO(data), "rb") as w:
        shape = (w.getnchannels(), w.getsampwidth(), w.getframerate())
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(float)
    return shape, pcm


def dominant(pcm: np.ndarray, rate: int = 8000) -> float:
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[int(np.argmax(spectrum))])


@pytest.fixture
def admin(api: Api, tmp_path: Path) -> dict[str, str]:
    api.center.data_dir = tmp_path / "var"
    return api.auth("admin")


def uploaded(api: Api) -> list[Path]:
    folder = api.center.data_dir / "prompts" / "uploaded"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_stereo_44k_wav_becomes_an_8k_mono_prompt_and_plays_back(
    api: Api, admin: dict[str, str]
) -> None:
    r = api.client.post(URL.format(name="greeting"), headers=admin,
                        files={"file": ("hello.wav", stereo_wav(), "audio/wav")},
                        data={"text": "您好"})  # fmt: skip
    assert r.status_code == 200, r.text
    rec = r.json()
    assert (rec["name"], rec["language"], rec["text"]) == ("greeting", "zh", "您好")
    path = Path(rec["file_path"])
    assert path == api.center.data_dir / "prompts" / "uploaded" / "greeting.zh.wav"
    shape, pcm = read_wav(path.read_bytes())
    assert shape == (1, 2, 8000)
    assert len(pcm) == pytest.approx(8000, abs=80)
    assert dominant(pcm) == pytest.approx(440, abs=10)
    assert uploaded(api) == [path]  # no temporary file left behind
    # listening returns the file, not a TTS rendering of the text
    r = api.client.get(URL.format(name="greeting"), headers=admin)
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    assert r.content == path.read_bytes()
    stored = api.store.prompts.get("greeting", "zh")
    assert stored is not None and stored.file_path == str(path)
    audit = api.store.audit.query(action="prompt.upload")
    assert [(a.target, a.result) for a in audit] == [("prompt:greeting/zh", "ok")]


def test_an_mp3_is_converted_and_replacing_keeps_the_stored_text(
    api: Api, admin: dict[str, str], tmp_path: Path
) -> None:
    mp3 = tmp_path / "tone.mp3"
    subprocess.run(["sox", "-n", "-r", "22050", str(mp3), "synth", "1.5", "sine", "600"],
                   check=True, capture_output=True)  # fmt: skip
    r = api.client.put("/api/v1/admin/prompts/menu/zh", headers=admin, json={"text": "请按1"})
    assert r.status_code == 200, r.text
    r = api.client.post(URL.format(name="menu"), headers=admin,
                        files={"file": ("tone.mp3", mp3.read_bytes(), "audio/mpeg")})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["text"] == "请按1"
    shape, pcm = read_wav(Path(r.json()["file_path"]).read_bytes())
    assert shape == (1, 2, 8000)
    assert dominant(pcm) == pytest.approx(600, abs=10)


@pytest.mark.parametrize(
    ("filename", "content", "status", "code"),
    [
        ("notes.wav", b"this is not audio at all\n" * 20, 422, "not_audio"),
        ("notes.txt", "电话录音说明".encode() * 50, 422, "not_audio"),
        ("empty.wav", b"", 422, "empty_file"),
    ],
)
def test_a_file_that_is_not_audio_is_refused_and_nothing_is_stored(
    api: Api, admin: dict[str, str], filename: str, content: bytes, status: int, code: str
) -> None:
    r = api.client.post(URL.format(name="bad"), headers=admin,
                        files={"file": (filename, content, "audio/wav")})  # fmt: skip
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["message"]
    assert api.store.prompts.get("bad", "zh") is None
    assert uploaded(api) == []
    audit = api.store.audit.query(action="prompt.upload")
    assert [a.result for a in audit] == ["failed"]


def test_a_file_over_the_limit_is_refused(
    api: Api, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_config, "MAX_PROMPT_BYTES", 50_000)
    r = api.client.post(URL.format(name="big"), headers=admin,
                        files={"file": ("big.wav", stereo_wav(2.0), "audio/wav")})  # fmt: skip
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "too_large"
    assert api.store.prompts.get("big", "zh") is None and uploaded(api) == []


def test_upload_needs_a_file_and_a_valid_name(api: Api, admin: dict[str, str]) -> None:
    r = api.client.post(URL.format(name="nofile"), headers=admin, data={"text": "x"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"
    r = api.client.post("/api/v1/admin/prompts/a%2Fb/zh/audio", headers=admin,
                        files={"file": ("x.wav", stereo_wav(), "audio/wav")})  # fmt: skip
    assert r.status_code in (404, 422)
    r = api.client.post("/api/v1/admin/prompts/ok/Chinese!/audio", headers=admin,
                        files={"file": ("x.wav", stereo_wav(), "audio/wav")})  # fmt: skip
    assert r.status_code == 422
    assert not [p for p in api.store.prompts.all() if p.name in ("nofile", "a/b", "ok")]
    assert uploaded(api) == []


def test_only_administrators_upload(api: Api) -> None:
    for user in ("sup", "a1001"):
        r = api.client.post(URL.format(name="x"), headers=api.auth(user),
                            files={"file": ("x.wav", stereo_wav(), "audio/wav")})  # fmt: skip
        assert r.status_code == 403, (user, r.text)
    assert api.store.prompts.get("x", "zh") is None


def test_listening_serves_audio_files_only(api: Api, admin: dict[str, str], tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the browser")
    r = api.client.put("/api/v1/admin/prompts/odd/zh", headers=admin,
                       json={"file_path": str(secret)})  # fmt: skip
    assert r.status_code == 200, r.text
    r = api.client.get(URL.format(name="odd"), headers=admin)
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_file"
    assert b"not for the browser" not in r.content
