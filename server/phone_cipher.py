"""The encryption of complainants' phone numbers (Fernet), with the keys of the secrets file."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class PhoneCipher:
    """Fernet encryption of complaint phone numbers.

    Encrypts with NEXTUP_FEEDBACK_KEY when set, else with the secrets file's current phone key
    (``server.keyring``; never kept in Redis, so a copy of Redis alone reveals no number); decrypts
    with any of them, so numbers stored before a key rotation stay readable.
    """

    def __init__(self, keys: Sequence[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    @classmethod
    def from_keys(cls, given: str | None, keyring_keys: Sequence[bytes]) -> PhoneCipher:
        """The cipher of the given key (NEXTUP_FEEDBACK_KEY) if any, then the secrets file's keys."""
        return cls([given.encode(), *keyring_keys] if given else list(keyring_keys))

    def encrypt(self, phone: str) -> str:
        return self._fernet.encrypt(phone.encode()).decode()

    def decrypt(self, token: str) -> str | None:
        """The number, or None when it cannot be read (erased, or encrypted with another key)."""
        if not token:
            return None
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            return None
