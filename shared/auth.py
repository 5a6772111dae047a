"""Identity: JWTs for people (role + scope), API keys for other systems; one dependency checks both."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import jwt
import yaml
from fastapi import APIRouter, Depends, Form, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from shared.errors import Forbidden, Unauthorized
from shared.ratelimit import RateLimiter
from shared.settings import Settings, get_settings


class Role(StrEnum):
    INSPECTOR = "inspector"
    DISPATCHER = "dispatcher"
    DEPARTMENT = "department"
    STREET = "street"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    SYSTEM = "system"
    """Another system calling with an API key (hotline, video platform, Open311 client)."""
    INTEGRATOR = "integrator"
    """Staff of another government system who manage its webhook subscriptions."""


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    unit: str | None = None
    """Department code for department staff, street code for street officers; None means district-wide."""
    name: str | None = None
    level: str | None = None
    """`community` when `unit` is a community code (a community centre's staff); None otherwise."""

    def sees_unit(self, unit: str | None) -> bool:
        return self.unit is None or self.unit == unit

    def data_scope(self) -> DataScope:
        """A department sees the cases (and their reports) it was ever given or summoned to; a street office, or
        anyone else whose unit is a street (an inspector, a street's dispatcher), those in that street. A
        department or street token without a unit sees nothing; admins, other systems and district staff see all."""
        if self.role is Role.DEPARTMENT:
            return DataScope(department=self.unit or "")
        if self.role is Role.STREET:
            return DataScope(street=self.unit or "")
        if self.unit and self.level == "community" and self.role not in (Role.ADMIN, Role.SYSTEM):
            return DataScope(community=self.unit)
        if self.unit and self.role not in (Role.ADMIN, Role.SYSTEM):
            return DataScope(street=self.unit)
        return DataScope()


@dataclass(frozen=True)
class DataScope:
    """Which cases and reports a caller may read: all (all None), one department's, one street's or one
    community's (小事不出社区: a community centre sees the cases located in its community, nothing else)."""

    department: str | None = None
    street: str | None = None
    community: str | None = None


@dataclass(frozen=True)
class User:
    username: str
    password_hash: str
    role: Role
    unit: str | None = None
    name: str | None = None
    level: str | None = None


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, salt, digest = stored.split("$")
    except ValueError:
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1)
    return hmac.compare_digest(candidate.hex(), digest)


class UserDirectory:
    def __init__(self, users: Mapping[str, User]) -> None:
        self.users = dict(users)

    @classmethod
    def from_yaml(cls, path: Path) -> UserDirectory:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls(
            {
                u["username"]: User(
                    u["username"], u["password_hash"], Role(u["role"]), u.get("unit"), u.get("name"), u.get("level")
                )
                for u in raw.get("users", [])
            }
        )

    def authenticate(self, username: str, password: str) -> User | None:
        user = self.users.get(username)
        return user if user and verify_password(password, user.password_hash) else None


def issue_token(principal: Principal, settings: Settings, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    claims = {
        "sub": principal.subject,
        "role": principal.role.value,
        "unit": principal.unit,
        "name": principal.name,
        "level": principal.level,
        "iss": settings.jwt_issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=settings.jwt_ttl_seconds)).timestamp()),
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def decode_token(token: str, settings: Settings) -> Principal:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=["HS256"],
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub", "role"]},
        )
        return Principal(
            claims["sub"], Role(claims["role"]), claims.get("unit"), claims.get("name"), claims.get("level")
        )
    except (jwt.PyJWTError, ValueError) as exc:
        raise Unauthorized(f"invalid token: {exc}", field="Authorization") from exc


_bearer = HTTPBearer(auto_error=False)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    settings: Settings = getattr(request.app.state, "settings", None) or get_settings()
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    api_key = request.headers.get("x-api-key")
    if api_key:
        for key, client in settings.api_keys.items():
            if hmac.compare_digest(key.encode(), api_key.encode()):
                if limiter:
                    await limiter.hit("client", client, field="X-API-Key")
                return Principal(client, Role.SYSTEM)
        raise Unauthorized("unknown API key", field="X-API-Key")
    if credentials is None:
        raise Unauthorized("missing bearer token or X-API-Key", field="Authorization")
    principal = decode_token(credentials.credentials, settings)
    if limiter:
        await limiter.hit("user", principal.subject, field="Authorization")
    return principal


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller must hold one of `roles` (admin always passes)."""

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in roles and principal.role is not Role.ADMIN:
            raise Forbidden(f"role {principal.role.value} may not do this", field="role")
        return principal

    return dependency


auth_router = APIRouter(tags=["auth"])


@auth_router.post("/v1/auth/token", summary="OAuth2 password grant: a signed JWT carrying role and scope")
async def token(
    request: Request,
    username: Annotated[str, Form(min_length=1, max_length=100)],
    password: Annotated[str, Form(min_length=1, max_length=200)],
    grant_type: Annotated[str, Form(pattern="^password$")] = "password",
) -> dict[str, object]:
    directory: UserDirectory = request.app.state.users
    settings: Settings = request.app.state.settings
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter:  # before scrypt: guessing passwords costs the guesser time, not our CPU
        await limiter.hit("login", username, field="username")
    user = await run_in_threadpool(directory.authenticate, username, password)  # scrypt: off the event loop
    if user is None:
        raise Unauthorized("wrong username or password", field="password")
    principal = Principal(user.username, user.role, user.unit, user.name, user.level)
    return {
        "access_token": issue_token(principal, settings),
        "token_type": "bearer",
        "expires_in": settings.jwt_ttl_seconds,
        "role": user.role.value,
        "unit": user.unit,
        "level": user.level,
    }
