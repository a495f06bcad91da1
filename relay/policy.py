"""The administrator's policy: what a relay allows, as one validated, frozen record.

Rules of the model (docs/operations.md "Policy" says the same to admins):
  1. A policy is a JSON object of sections; every field has a default, and
     a document may leave out any field or section (``{}`` is the default
     policy). A field this version does not know is an error, so a typo
     never silently leaves a rule unset.
  2. ``format`` names the layout of the document; this code reads format 1.
  3. Every error names the field (``join.who``) and the rule it breaks, in
     one sentence an administrator can act on.
  4. A policy holds no secrets: it can be shown, logged and diffed.
  5. Restrictions apply to running sessions too (relay/sessions.py); grants
     apply to new ones.

Pure: no I/O. :func:`parse_policy` reads, :meth:`Policy.to_document` writes,
:func:`changed_keys` compares two policies for the audit trail.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal, get_args

from protocol.errors import ScreenrelayError
from protocol.version import parse_version

#: The document layout this code reads and writes.
POLICY_FORMAT: Final = 1

#: Most names in one allowlist: a policy is sent to no one in full, but is
#: read on every change; thousands of names belong in groups, not here.
MAX_LIST: Final = 1000

#: Strongest password requirement that makes sense: a 256-bit key.
MAX_PASSWORD_BITS: Final = 256

#: Most participants any policy may allow (member ids are 16 bits).
MAX_PARTICIPANTS_LIMIT: Final = 10_000

#: Longest session or idle limit, in seconds (a year).
MAX_SECONDS: Final = 366 * 24 * 3600

#: Longest audit retention, in days (a century).
MAX_RETENTION_DAYS: Final = 36_500

OrganizeWho = Literal["organizers", "allowlist"]
JoinWho = Literal["password", "signed_in", "allowlist"]


class PolicyError(ScreenrelayError):
    """A policy document breaks a rule; the message names the field and the rule."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"policy field {field}: {rule}")
        self.field = field
        self.rule = rule


@dataclasses.dataclass(frozen=True, slots=True)
class OrganizePolicy:
    """Who may start sessions."""

    #: "organizers": every enabled organizer (or admin) account;
    #: "allowlist": only the accounts named in ``accounts`` or belonging to
    #: one of ``groups``.
    who: OrganizeWho = "organizers"
    #: Account names (compared without ASCII case) for "allowlist".
    accounts: tuple[str, ...] = ()
    #: Group names (compared without ASCII case) for "allowlist".
    groups: tuple[str, ...] = ()

    def allows(self, name: str, groups: Iterable[str] = ()) -> bool:
        """Whether the account ``name``, in ``groups``, may start sessions."""
        if self.who == "organizers":
            return True
        return _named(name, groups, self.accounts, self.groups)

    @property
    def rule(self) -> str:
        """The fields an allowlist refusal names (``organize.accounts,organize.groups``)."""
        return _rule("organize", accounts=self.accounts, groups=self.groups)


@dataclasses.dataclass(frozen=True, slots=True)
class JoinPolicy:
    """Who may join a session (besides knowing its password or link)."""

    #: "password": anyone with the password or link; "signed_in": only people
    #: signed in with an account of this relay; "allowlist": only accounts
    #: named in ``accounts``, belonging to one of ``groups``, or whose e-mail
    #: is in one of ``email_domains``.
    who: JoinWho = "password"
    #: Account names (compared without ASCII case) for "allowlist".
    accounts: tuple[str, ...] = ()
    #: E-mail domains ("example.com", lower case) for "allowlist".
    email_domains: tuple[str, ...] = ()
    #: Group names (compared without ASCII case) for "allowlist".
    groups: tuple[str, ...] = ()

    @property
    def needs_account(self) -> bool:
        return self.who != "password"

    def allows(self, name: str | None, email: str | None, groups: Iterable[str] = ()) -> bool:
        """Whether a joiner signed in as ``name`` (None: not signed in) may join."""
        if self.who == "password":
            return True
        if name is None:
            return False
        if self.who == "signed_in":
            return True
        if _named(name, groups, self.accounts, self.groups):
            return True
        domain = email.rpartition("@")[2].lower() if email and "@" in email else None
        return domain is not None and domain in self.email_domains

    def named(self) -> str:
        """What the allowlist names, for a sentence: "the accounts and groups"."""
        kinds = [
            kind
            for kind, values in (
                ("accounts", self.accounts),
                ("groups", self.groups),
                ("e-mail domains", self.email_domains),
            )
            if values
        ]
        if len(kinds) <= 1:
            return f"the {''.join(kinds) or 'accounts'}"
        return "the " + ", ".join(kinds[:-1]) + " and " + kinds[-1]


def _named(
    name: str, groups: Iterable[str], accounts: tuple[str, ...], listed: tuple[str, ...]
) -> bool:
    """Whether ``name`` is in ``accounts`` or one of ``groups`` in ``listed`` (no ASCII case)."""
    if name.casefold() in {a.casefold() for a in accounts}:
        return True
    return not {g.casefold() for g in groups}.isdisjoint(g.casefold() for g in listed)


def _rule(section: str, **lists: tuple[str, ...]) -> str:
    named = [f"{section}.{field}" for field, values in lists.items() if values]
    return ",".join(named) or f"{section}.accounts"


@dataclasses.dataclass(frozen=True, slots=True)
class FeaturePolicy:
    """Which features exist on this relay."""

    #: The organizer may hand the presenter role to participants.
    participants_present: bool = True
    #: Viewers may ask the presenter for remote control.
    remote_control: bool = True
    #: The organizer may choose the 9-digit session ID.
    custom_session_id: bool = True
    #: The organizer may choose the session password (else it is generated).
    custom_password: bool = True
    #: Presenters may send photo-like tiles lossy (JPEG); false: every tile is
    #: lossless, as text is always.
    lossy: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class SessionPolicy:
    """Limits of every session."""

    #: Least strength of an organizer-chosen session password, in bits (see
    #: protocol/pake.py ``password_bits``); checked by the organizer's client.
    min_password_bits: int = 50
    #: Most admitted participants per session (the organizer not counted).
    max_participants: int = 50
    #: Longest a session may run, in seconds; None: no limit.
    max_duration_seconds: int | None = None
    #: A session with no activity (frames, input, joins, role or control
    #: changes) for this many seconds ends; None: no limit.
    idle_timeout_seconds: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ClientVersionPolicy:
    """Which client versions may connect (both ends inclusive)."""

    #: Oldest allowed "x.y.z"; None: whatever the relay's --min-client-version says.
    min: str | None = None
    #: Newest allowed "x.y.z"; None: no upper bound.
    max: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class AuditPolicy:
    """How long the audit trail is kept."""

    #: Rows older than this many days are pruned; None: kept forever.
    retention_days: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Policy:
    """Everything an administrator decides, with the defaults of a fresh relay."""

    organize: OrganizePolicy = OrganizePolicy()
    join: JoinPolicy = JoinPolicy()
    features: FeaturePolicy = FeaturePolicy()
    sessions: SessionPolicy = SessionPolicy()
    client_versions: ClientVersionPolicy = ClientVersionPolicy()
    audit: AuditPolicy = AuditPolicy()

    def to_document(self) -> dict[str, Any]:
        """The policy as a JSON-ready object; ``parse_policy`` reads it back equal."""
        document: dict[str, Any] = {"format": POLICY_FORMAT}
        for section in _SECTIONS:
            value = dataclasses.asdict(getattr(self, section))
            document[section] = {
                k: list(v) if isinstance(v, tuple) else v for k, v in value.items()
            }
        return document

    def client_document(self) -> dict[str, Any]:
        """What clients are told in Welcome: what they may do, no account names.

        ``remote_control`` and ``participants_present`` stay at the top level,
        where clients of the first version look for them.
        """
        features = self.features
        sessions = self.sessions
        return {
            "remote_control": features.remote_control,
            "participants_present": features.participants_present,
            "custom_session_id": features.custom_session_id,
            "custom_password": features.custom_password,
            "lossy": features.lossy,
            "min_password_bits": sessions.min_password_bits,
            "max_participants": sessions.max_participants,
            "max_duration_seconds": sessions.max_duration_seconds,
            "idle_timeout_seconds": sessions.idle_timeout_seconds,
            "join": self.join.who,
            "max_client_version": self.client_versions.max,
        }


_SECTIONS: Final = ("organize", "join", "features", "sessions", "client_versions", "audit")


def parse_policy(source: str | bytes | Mapping[str, Any]) -> Policy:
    """Read and validate a policy document (JSON text or an object).

    Raises PolicyError naming the field and the rule it breaks.
    """
    if isinstance(source, str | bytes):
        try:
            document = json.loads(source)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PolicyError("(document)", f"is not JSON: {exc}") from None
    else:
        document = source
    if not isinstance(document, Mapping):
        raise PolicyError("(document)", "must be a JSON object")
    _no_unknown("(document)", document, {"format", *_SECTIONS})
    fmt = document.get("format", POLICY_FORMAT)
    if fmt != POLICY_FORMAT or isinstance(fmt, bool):
        raise PolicyError("format", f"must be {POLICY_FORMAT} (this relay reads format 1)")
    organize = _section(document, "organize", OrganizePolicy)
    join = _section(document, "join", JoinPolicy)
    features = _section(document, "features", FeaturePolicy)
    sessions = _section(document, "sessions", SessionPolicy)
    versions = _section(document, "client_versions", ClientVersionPolicy)
    audit = _section(document, "audit", AuditPolicy)
    _check(organize, join, features, sessions, versions, audit)
    return Policy(organize, join, features, sessions, versions, audit)


def changed_keys(old: Policy, new: Policy) -> list[str]:
    """The dotted names of the fields that differ (``features.remote_control``)."""
    changed: list[str] = []
    for section in _SECTIONS:
        before = dataclasses.asdict(getattr(old, section))
        after = dataclasses.asdict(getattr(new, section))
        changed += [f"{section}.{k}" for k in after if before[k] != after[k]]
    return changed


# -- inside -------------------------------------------------------------------


def _no_unknown(where: str, obj: Mapping[str, Any], known: set[str]) -> None:
    for key in obj:
        if key not in known:
            name = key if where == "(document)" else f"{where}.{key}"
            raise PolicyError(name, f"is not a policy field (known: {', '.join(sorted(known))})")


def _section(document: Mapping[str, Any], name: str, cls: type[Any]) -> Any:
    raw = document.get(name, {})
    if not isinstance(raw, Mapping):
        raise PolicyError(name, "must be a JSON object")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _no_unknown(name, raw, set(fields))
    values: dict[str, Any] = {}
    for key, value in raw.items():
        values[key] = _value(f"{name}.{key}", value, str(fields[key].type))
    return cls(**values)


def _value(field: str, value: Any, annotation: str) -> Any:
    """Check ``value`` against the field's annotation (as text: annotations are lazy)."""
    if annotation == "bool":
        if not isinstance(value, bool):
            raise PolicyError(field, "must be true or false")
        return value
    if annotation in ("int", "int | None"):
        if value is None and annotation == "int | None":
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            none = " or null (no limit)" if "None" in annotation else ""
            raise PolicyError(field, f"must be a whole number{none}")
        if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
            raise PolicyError(field, "must be a whole number")
        return int(value)
    if annotation == "str | None":
        if value is not None and not isinstance(value, str):
            raise PolicyError(field, 'must be a version "x.y.z" or null')
        return value
    if annotation == "tuple[str, ...]":
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise PolicyError(field, "must be a list of non-empty strings")
        if len(value) > MAX_LIST:
            raise PolicyError(field, f"may hold at most {MAX_LIST} entries")
        return tuple(value)
    choices = {"OrganizeWho": OrganizeWho, "JoinWho": JoinWho}.get(annotation)
    if choices is not None:
        allowed = get_args(choices)
        if value not in allowed:
            raise PolicyError(field, f"must be one of {', '.join(map(repr, allowed))}")
        return value
    raise AssertionError(f"no check for {annotation}")  # pragma: no cover - a bug here


def _check(
    organize: OrganizePolicy,
    join: JoinPolicy,
    features: FeaturePolicy,
    sessions: SessionPolicy,
    versions: ClientVersionPolicy,
    audit: AuditPolicy,
) -> None:
    """The rules between fields, and the ranges."""
    del features  # booleans: nothing to check between them
    if organize.who == "allowlist" and not (organize.accounts or organize.groups):
        raise PolicyError(
            "organize.accounts",
            'or organize.groups must name at least one account or group for "allowlist"',
        )
    if organize.who != "allowlist" and (organize.accounts or organize.groups):
        raise PolicyError(
            "organize.accounts", 'and organize.groups apply only when organize.who is "allowlist"'
        )
    if join.who == "allowlist" and not (join.accounts or join.email_domains or join.groups):
        raise PolicyError(
            "join.accounts",
            'or join.groups or join.email_domains must name someone for "allowlist"',
        )
    if join.who != "allowlist" and (join.accounts or join.email_domains or join.groups):
        raise PolicyError("join.accounts", 'groups and email_domains apply only to "allowlist"')
    for field, names in (("organize.groups", organize.groups), ("join.groups", join.groups)):
        for group in names:
            if "," in group or group != group.strip():
                raise PolicyError(
                    field, f"{group!r} is not a group name (no commas, no spaces around it)"
                )
    for domain in join.email_domains:
        if "@" in domain or "." not in domain or domain != domain.lower() or " " in domain:
            raise PolicyError(
                "join.email_domains", f'{domain!r} is not a lower-case domain like "example.com"'
            )
    _range("sessions.min_password_bits", sessions.min_password_bits, 0, MAX_PASSWORD_BITS)
    _range("sessions.max_participants", sessions.max_participants, 0, MAX_PARTICIPANTS_LIMIT)
    _range("sessions.max_duration_seconds", sessions.max_duration_seconds, 1, MAX_SECONDS)
    _range("sessions.idle_timeout_seconds", sessions.idle_timeout_seconds, 1, MAX_SECONDS)
    _range("audit.retention_days", audit.retention_days, 1, MAX_RETENTION_DAYS)
    low = _version("client_versions.min", versions.min)
    high = _version("client_versions.max", versions.max)
    if low is not None and high is not None and low > high:
        raise PolicyError("client_versions", f"min {versions.min} is above max {versions.max}")


def _range(field: str, value: int | None, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise PolicyError(field, f"must be between {low} and {high}")


def _version(field: str, text: str | None) -> tuple[int, int, int] | None:
    if text is None:
        return None
    version = parse_version(text)
    if version is None:
        raise PolicyError(field, f'{text!r} is not a version "x.y.z"')
    return version
