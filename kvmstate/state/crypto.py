"""Encryption at rest for the state (every backend) and saved plans: AES-256-GCM.

The key comes from the environment, never from a file kvmstate writes:

    KVMSTATE_STATE_KEY              32 random bytes, base64 (`openssl rand -base64 32`)
    KVMSTATE_STATE_PASSPHRASE       or a passphrase, stretched with scrypt (memory-hard)
    KVMSTATE_STATE_KEY_FALLBACK     the previous key (or ..._PASSPHRASE_FALLBACK), for rotation:
                                    read with either, written with the new one

A sealed document is a JSON object {"kvmstate_encrypted": 1, ...} holding the key's
id, the scrypt salt for a passphrase, a fresh 96-bit nonce and the ciphertext with
its tag, so a wrong key and a tampered document are told apart and both refused
before anything is written. A plaintext document is still read when a key is set,
so an existing state is encrypted by its next write (`kvmstate state rekey`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache


from kvmstate.diagnostics import error

MARK = "kvmstate_encrypted"
AAD = b"kvmstate state v1"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 15, 8, 1


@dataclass(frozen=True)
class Key:
    """A raw key, or a passphrase whose key depends on each document's salt."""

    raw: bytes | None = None
    passphrase: str | None = None
    source: str = ""

    def derive(self, salt: bytes | None) -> bytes:
        if self.raw is not None:
            return self.raw
        return _scrypt(self.passphrase, salt)


@lru_cache(maxsize=32)
def _scrypt(passphrase: str, salt: bytes) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt    # cryptography loads only with a key
    return Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase.encode())


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"kvmstate key id" + key).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass
class Codec:
    """Seals documents with the first key, opens them with any; without keys, plaintext only."""

    keys: tuple[Key, ...] = ()
    _salt: bytes = field(default_factory=lambda: os.urandom(16))

    @classmethod
    def from_env(cls, env: dict | None = None) -> "Codec":
        env = os.environ if env is None else env
        keys = [k for k in (_key(env, ""), _key(env, "_FALLBACK")) if k is not None]
        return cls(tuple(keys))

    @property
    def encrypts(self) -> bool:
        return bool(self.keys)

    def seal(self, document: dict) -> dict:
        if not self.keys:
            return document
        key = self.keys[0]
        salt = self._salt if key.passphrase is not None else None
        secret, nonce = key.derive(salt), os.urandom(12)
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        data = AESGCM(secret).encrypt(nonce, json.dumps(document, separators=(",", ":")).encode(), AAD)
        sealed = {MARK: 1, "alg": "AES-256-GCM", "key": key_id(secret), "nonce": _b64(nonce), "data": _b64(data)}
        if salt is not None:
            sealed["scrypt"] = {"salt": _b64(salt), "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P}
        return sealed

    def open(self, document: dict) -> dict:
        """The plaintext of a sealed document; a plaintext document as it is."""
        if not is_sealed(document):
            return document
        if not self.keys:
            raise error("State is encrypted", "The state (or saved plan) is encrypted and no key is set. Set "
                        "KVMSTATE_STATE_KEY or KVMSTATE_STATE_PASSPHRASE to the key it was written with.")
        try:
            salt = base64.b64decode(document["scrypt"]["salt"]) if "scrypt" in document else None
            nonce, data = base64.b64decode(document["nonce"]), base64.b64decode(document["data"])
        except (KeyError, TypeError, binascii.Error):
            raise _tampered("its envelope is damaged") from None
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        for key in self.keys:
            if (key.passphrase is not None) != (salt is not None):
                continue                       # a passphrase for a raw-key document, or the other way round
            secret = key.derive(salt)
            if key_id(secret) != document.get("key"):
                continue
            try:
                return json.loads(AESGCM(secret).decrypt(nonce, data, AAD))
            except (InvalidTag, ValueError):
                raise _tampered(f"its authentication tag does not match under {key.source}") from None
        given = ", ".join(k.source for k in self.keys)
        raise error("Wrong state key", f"The state (or saved plan) was encrypted with key {document.get('key')}, "
                    f"which is not the key given ({given}). Set the key it was written with; after rotating keys, "
                    "give the old one as KVMSTATE_STATE_KEY_FALLBACK. Nothing was changed.")


def is_sealed(document: object) -> bool:
    return isinstance(document, dict) and document.get(MARK) == 1


def _tampered(why: str):
    return error("Encrypted state refused", f"The encrypted state (or saved plan) does not decrypt: {why}. It was "
                 "changed after it was written, or is damaged; it is refused and nothing was changed. Restore it "
                 "from the backup or the history.")


def _key(env, suffix: str) -> Key | None:
    raw, passphrase = env.get(f"KVMSTATE_STATE_KEY{suffix}"), env.get(f"KVMSTATE_STATE_PASSPHRASE{suffix}")
    if raw:
        try:
            value = base64.b64decode(raw, validate=True)
        except binascii.Error:
            value = b""
        if len(value) != 32:
            raise error("Invalid state key", f"KVMSTATE_STATE_KEY{suffix} must be 32 bytes in base64 (make one with "
                        "`openssl rand -base64 32`), or use KVMSTATE_STATE_PASSPHRASE for a passphrase.")
        return Key(raw=value, source=f"KVMSTATE_STATE_KEY{suffix}")
    if passphrase:
        return Key(passphrase=passphrase, source=f"KVMSTATE_STATE_PASSPHRASE{suffix}")
    return None
