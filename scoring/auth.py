"""Who is using the app: the two modes, password hashing, and sign-in with a rate limit.

- Workstation mode (the default, the app on 127.0.0.1): one person's machine;
  they name themself once per session and nothing is checked.
- Shared mode (`CEP_MODE=shared`, a team server): every page needs a sign-in
  against the store's `users` table (`cep-scoring users add`), whose passwords
  are argon2id hashes.

A wrong password and an unknown name are refused alike, in the same time (an
unknown name is checked against a dummy hash), so neither the message nor the
delay says which names exist. After `max_failures` failures on a name within
`window_s` seconds, that name is refused without any check for `lockout_s`
seconds, whatever the password: guessing costs minutes per handful of tries.
The counts live in the server process (one per app): a restart clears them.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from scoring.store.records import User
from scoring.store.repository import Store

ENV_MODE = "CEP_MODE"
MODES = ("workstation", "shared")
#: Short passwords fall to a guess list whatever the hash; 12 characters is the ANSSI's floor for a password alone.
MIN_PASSWORD = 12
#: What each role may open in the app (page names of ui/app.py).
PAGES = {
    "applicant": ("self_assessment",),
    "expert": ("self_assessment", "triage", "committee", "portfolio", "model", "monitor"),
    "chair": ("self_assessment", "triage", "committee", "portfolio", "model", "monitor"),
    "admin": ("self_assessment", "triage", "committee", "portfolio", "model", "monitor"),
}

_hasher = PasswordHasher()  # argon2id, the library's defaults (RFC 9106's second recommended profile)


def mode(environ: Mapping[str, str] | None = None) -> str:
    """`CEP_MODE`: workstation (default) or shared."""
    env = os.environ if environ is None else environ
    found = env.get(ENV_MODE, "").strip().lower() or "workstation"
    if found not in MODES:
        raise ValueError(
            f"{ENV_MODE}={found!r} is not known: use workstation (one person, this machine) or "
            f"shared (a team server, everyone signs in)"
        )
    return found


def hash_password(password: str) -> str:
    """The argon2id hash stored for a password; refused when the password is too short to resist guessing."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValueError(
            f"the password must have at least {MIN_PASSWORD} characters; a few words in a row are "
            f"easier to remember than a short one"
        )
    return _hasher.hash(password)


class SignInRefused(PermissionError):
    """The name or the password is wrong (which one is not said)."""

    def __init__(self) -> None:
        super().__init__("name or password is wrong")


class TooManyAttempts(PermissionError):
    """Too many failed sign-ins on this name: refused, unchecked, for `retry_after` seconds."""

    def __init__(self, retry_after: float):
        self.retry_after = max(1, round(retry_after))
        super().__init__(f"too many failed sign-ins on this name; try again in {self.retry_after} s")


@dataclass
class _Failures:
    times: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class Authenticator:
    """Sign-in against a store's users, with a failure count per name (thread-safe: Streamlit runs sessions
    in threads of one process)."""

    def __init__(
        self,
        store: Store,
        *,
        max_failures: int = 5,
        window_s: float = 300.0,
        lockout_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.store = store
        self.max_failures, self.window_s, self.lockout_s = max_failures, window_s, lockout_s
        self.clock = clock
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()
        # Checked when a name has no usable hash, so that an unknown name costs what a wrong password costs.
        self._dummy = _hasher.hash(secrets.token_urlsafe(24))

    def sign_in(self, name: str, password: str) -> User:
        """The signed-in user; `SignInRefused` or `TooManyAttempts` otherwise."""
        key = (name or "").strip().casefold()
        with self._lock:
            f = self._failures.get(key)
            now = self.clock()
            if f and f.locked_until > now:
                raise TooManyAttempts(f.locked_until - now)
        found = self.store.user((name or "").strip()) if key else None
        stored = found.password_hash if found is not None and found.active else None
        try:
            _hasher.verify(stored if stored is not None else self._dummy, password or "")
            ok = stored is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if ok and found is not None:  # ok implies found; said again for the type checker
            with self._lock:
                self._failures.pop(key, None)
            return found
        with self._lock:
            f = self._failures.setdefault(key, _Failures())
            now = self.clock()
            f.times = [t for t in f.times if now - t < self.window_s] + [now]
            if len(f.times) >= self.max_failures:
                f.locked_until, f.times = now + self.lockout_s, []
        raise SignInRefused()
