"""Process settings from the environment: defaults, chosen values, and every bad one named at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.errors import ConfigError
from server.settings import DEFAULT_KIOSK_TICKETS_PER_MINUTE, PhoneSettings, load_settings


def test_defaults_without_variables(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {})
    assert (settings.redis_url, settings.data_dir, settings.feedback_key) == (None, tmp_path, None)
    assert settings.phone == PhoneSettings()
    assert settings.kiosk_tickets_per_minute == DEFAULT_KIOSK_TICKETS_PER_MINUTE


def test_variables_set_their_settings(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {
        "NEXTUP_REDIS_URL": "redis://10.0.0.2:6379/1", "NEXTUP_KIOSK_TICKETS_PER_MINUTE": "0",
        "NEXTUP_PHONE_PAGE_TTL_S": "600", "NEXTUP_FEEDBACK_KEY": " k3y ",
    })  # fmt: skip
    assert settings.redis_url == "redis://10.0.0.2:6379/1"
    assert settings.kiosk_tickets_per_minute == 0
    assert settings.phone.finished_page_ttl_s == 600
    assert settings.feedback_key == "k3y"


def test_every_bad_number_is_named_and_nothing_is_loaded(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, {"NEXTUP_KIOSK_TICKETS_PER_MINUTE": "ten", "NEXTUP_COMPLAINT_PHONE_DAYS": "-3"})
    text = str(caught.value)
    assert "NEXTUP_KIOSK_TICKETS_PER_MINUTE='ten'" in text and "NEXTUP_COMPLAINT_PHONE_DAYS='-3'" in text
