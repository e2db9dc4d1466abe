"""Console passwords: hashed with scrypt (memory-hard, in the standard library), compared
in constant time, stored as ``scrypt$n$r$p$salt_b64$hash_b64`` so that a later, stronger
cost can be told from today's in the same table.

A password is never kept, logged or put into an exception message here: only its hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import unicodedata
from functools import lru_cache

from cdr.console import Refused

# n=2**15, r=8: 32 MiB and ~0.1 s per hash on these machines — the cost of a login, and
# a guess against a stolen file costs the same.
N, R, P = 2**15, 8, 1
SALT_BYTES = 16
HASH_BYTES = 32
MIN_LENGTH = 10
# Bounds for a stored hash's parameters: a hash written with absurd ones (a tampered
# file) must not make a login take gigabytes.
_MAX_N, _MAX_R, _MAX_P = 2**20, 16, 4


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # NFKC first: a Japanese input method left on types ｐａｓｓ in full width, which is
    # the same password to the person (NIST SP 800-63B asks for a normalisation too)
    typed = unicodedata.normalize("NFKC", password).encode("utf-8")
    # OpenSSL refuses more than 32 MiB by default, which n=2**15, r=8 just exceeds
    memory = 128 * r * n * p + 2**20
    return hashlib.scrypt(typed, salt=salt, n=n, r=r, p=p, maxmem=memory, dklen=HASH_BYTES)


def refuse_weak(password: str) -> None:
    """Refused unless the password is at least ``MIN_LENGTH`` characters (and not blank)."""
    if not password or not password.strip():
        raise Refused("パスワードが空です。", "The password is empty.")
    if len(password) < MIN_LENGTH:
        raise Refused(
            f"パスワードは {MIN_LENGTH} 文字以上にしてください。",
            f"The password must have at least {MIN_LENGTH} characters.",
        )


def hash_password(password: str) -> str:
    """The stored form of a new password (a fresh random salt each time)."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, N, R, P)
    return "$".join(("scrypt", str(N), str(R), str(P), _b64(salt), _b64(digest)))


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from; False for a malformed hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        cost = int(n), int(r), int(p)
        salt_bytes, expected = base64.b64decode(salt, validate=True), base64.b64decode(digest, validate=True)
    except (ValueError, TypeError):
        return False
    if scheme != "scrypt" or not (1 < cost[0] <= _MAX_N and 0 < cost[1] <= _MAX_R and 0 < cost[2] <= _MAX_P):
        return False
    return hmac.compare_digest(_scrypt(password, salt_bytes, *cost), expected)


def waste_time(password: str) -> None:
    """The work of one check, for a name with no account: a login of an unknown name
    takes as long as a wrong password, so the time does not tell which names exist."""
    check_password(password, _dummy())


@lru_cache(maxsize=1)
def _dummy() -> str:
    return hash_password(secrets.token_urlsafe(16))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
