"""Prompts in the administration pages, in headless Chromium against the real server: upload a
recording (a 44.1 kHz stereo WAV becomes the prompt's 8 kHz mono file) and listen to it in the
page; a file that is not audio is refused with the server's message and nothing is stored."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.e2e.test_inbound import Center

from .conftest import Pages, shot

pytestmark = pytest.mark.e2e


def tone_wav(path: Path, seconds: float = 1.5, rate: int = 44100) -> Path:
    t = np.arange(int(rate * seconds)) / rate
    pcm = (np.sin(2 * np.pi * 440.0 * t) * 12000).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.repeat(pcm, 2).tobytes())
    return path


def test_upload_a_prompt_listen_to_it_and_a_bad_file_is_refused(
    center: Center, pages: Pages, tmp_path: Path
) -> None:
    page = pages.open("admin", "/ui/admin/#prompts")
    table = page.locator('[data-testid="table-prompts"]')
    expect(table).to_be_visible()
    page.locator('[data-testid="new"]').click()
    page.locator('[data-testid="field-name"]').fill("ui_greeting")
    page.locator('[data-testid="field-text"]').fill("欢迎致电")
    page.locator('[data-testid="field-file"]').set_input_files(str(tone_wav(tmp_path / "hi.wav")))
    shot(page, "admin-prompt-upload", "zh")
    page.locator('[data-testid="form-save"]').click()
    row = page.locator('tr[data-key="ui_greeting/zh"]')
    expect(row.locator('[data-field="file_path"]')).to_contain_text("ui_greeting.zh.wav")
    expect(row.locator('[data-field="text"]')).to_have_text("欢迎致电")
    stored = center.server.data_dir / "prompts" / "uploaded" / "ui_greeting.zh.wav"
    with wave.open(str(stored), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
    # listen: the page plays the uploaded file (1.5 s), not the text through TTS
    row.locator('[data-testid="act-listen"]').click()
    audio = page.locator('[data-testid="prompt-audio"][data-prompt="ui_greeting/zh"]')
    expect(audio).to_be_attached()
    page.wait_for_function(
        """() => { const a = document.querySelector('[data-testid="prompt-audio"]');
                   return a && !a.error && a.readyState >= 2 && a.currentTime > 0; }""",
        timeout=15000,
    )
    duration = audio.evaluate("a => a.duration")
    assert duration == pytest.approx(1.5, abs=0.05)
    served = page.request.get(audio.evaluate("a => a.src"))
    assert served.ok and served.body() == stored.read_bytes()
    expect(page.locator(".pager")).not_to_contain_text("null")
    shot(page, "admin-prompts", "zh")
    # a text file named .wav: the form stays open with the server's message; nothing stored
    bad = tmp_path / "notes.wav"
    bad.write_text("这不是录音文件\n" * 40, encoding="utf-8")
    page.locator('[data-testid="new"]').click()
    page.locator('[data-testid="field-name"]').fill("ui_bad")
    page.locator('[data-testid="field-file"]').set_input_files(str(bad))
    page.locator('[data-testid="form-save"]').click()
    expect(page.locator('[data-testid="form-error"]')).to_contain_text("not an audio file")
    expect(page.locator('[data-testid="admin-form"]')).to_be_visible()
    page.locator('[data-testid="admin-form"] button[type="button"]').click()
    expect(page.locator('[data-testid="admin-form"]')).to_have_count(0)
    page.locator('[data-testid="refresh"]').click()
    expect(row).to_be_visible()
    expect(page.locator('tr[data-key="ui_bad/zh"]')).to_have_count(0)
    assert not (stored.parent / "ui_bad.zh.wav").exists()
    # the English page labels the upload field
    en = pages.open("admin", "/ui/admin/#prompts", lang="en")
    en.locator('tr[data-key="ui_greeting/zh"] [data-testid="edit"]').click()
    expect(en.locator('[data-testid="admin-form"]')).to_contain_text("Upload a recording")
