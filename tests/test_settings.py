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


def test_abuse_limit_settings(tmp_path: Path) -> None:
    """Socket limits and trusted proxies: defaults, chosen values, bad ones named."""
    settings = load_settings(tmp_path, {})
    assert (settings.ws_max_message_bytes, settings.max_sockets_per_address, settings.trusted_proxies) == (
        65536, 200, ()
    )
    chosen = load_settings(tmp_path, {
        "NEXTUP_TRUSTED_PROXIES": "127.0.0.1, 10.1.2.3/8", "NEXTUP_MAX_SOCKETS_PER_ADDRESS": "0",
        "NEXTUP_WS_MAX_MESSAGE_BYTES": "8192",
    })  # fmt: skip
    assert chosen.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    assert (chosen.max_sockets_per_address, chosen.ws_max_message_bytes) == (0, 8192)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, {"NEXTUP_TRUSTED_PROXIES": "proxy.lan", "NEXTUP_WS_MAX_MESSAGE_BYTES": "100"})
    assert "'proxy.lan'" in str(caught.value) and "NEXTUP_WS_MAX_MESSAGE_BYTES" in str(caught.value)
