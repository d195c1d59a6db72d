"""The walkthrough behind ``platform-sessions walkthrough``: the whole lifecycle, printed step by step."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from platform_sessions.domain.context import SessionContext
from platform_sessions.domain.errors import PlatformSessionsError
from platform_sessions.domain.events import DomainEvent
from platform_sessions.entrypoints.facade import PlatformSessions

Printer = Callable[[str], None]


def run_walkthrough(sessions: PlatformSessions, say: Printer = print) -> None:
    """Connect two accounts, log in twice, switch, rotate, list, end others, end, purge."""
    say("1. alice connects a Mastodon and a Pixelfed account")
    mastodon = sessions.connect_platform(
        "alice",
        name="Mastodon",
        platform_type="mastodon",
        instance_url="https://mastodon.example",
        username="alice",
    )
    pixelfed = sessions.connect_platform(
        "alice",
        name="Pixelfed",
        platform_type="pixelfed",
        instance_url="https://pixelfed.example",
        username="alice_pics",
    )
    say(f"   {mastodon.name} ({mastodon.id}) is the default; {pixelfed.name} is {pixelfed.id}")

    say("2. alice logs in on her laptop (the application authenticated her)")
    laptop = sessions.start_session(
        "alice", user_agent="Firefox on Linux", ip_address="192.0.2.10", attributes={"role": "editor"}
    )
    say(f"   cookie token: {laptop.token.routing_tag}.… (the stores only ever see its SHA-256)")
    say(f"   active platform: {_platform_name(laptop.context)}")

    say("3. a request resolves the cookie")
    context = sessions.resolve(str(laptop.token))
    say(f"   user {context.user_id}, platform {_platform_name(context)}")

    say("4. alice switches to Pixelfed (and double-clicks)")
    first = sessions.switch_platform(context, pixelfed.id)
    second = sessions.switch_platform(str(laptop.token), pixelfed.id)
    say(f"   first click changed it: {first.changed}; second click changed nothing: {not second.changed}")
    used = next(p for p in sessions.list_platforms("alice") if p.id == pixelfed.id)
    say(f"   Pixelfed last used at {used.last_used_at:%H:%M:%S} (stamped in a database unit of work)")

    say("5. alice logs in on her phone; a second tab works on Mastodon through a per-request override")
    phone = sessions.start_session("alice", user_agent="Safari on iOS", ip_address="198.51.100.7")
    override = sessions.resolve(str(laptop.token), platform_override=mastodon.id)
    stays_on = sessions.resolve(str(laptop.token))
    say(f"   the override tab works on {_platform_name(override)}")
    say(f"   the session itself stays on {_platform_name(stays_on)}")

    say("6. the laptop session's token is rotated (e.g. after a password change)")
    rotated = sessions.rotate(str(laptop.token))
    try:
        sessions.resolve(str(laptop.token))
    except PlatformSessionsError as error:
        say(f"   old token refused: {type(error).__name__}")
    same = sessions.resolve(str(rotated.token)).handle == context.handle
    say(f"   the new token resolves to the same session: {same}")

    say("7. alice lists her sessions")
    for summary in sessions.list_sessions("alice", current=str(rotated.token)):
        marker = "this device" if summary.is_current else "other device"
        say(f"   {summary.handle}  {summary.client.user_agent:<18} {summary.client.ip_address:<14} {marker}")

    say("8. alice ends all other sessions from the laptop")
    ended = sessions.end_all_sessions("alice", keep=str(rotated.token))
    say(f"   {ended} ended; the phone is logged out: {_refused(sessions, str(phone.token))}")

    say("9. alice logs out")
    ended_now = sessions.end_session(str(rotated.token))
    say(f"   ended: {ended_now}; its token is refused: {_refused(sessions, str(rotated.token))}")

    say("10. housekeeping: purge expired sessions")
    say(f"   purged {sessions.purge_expired()} (expiry is enforced on every read anyway)")


def _platform_name(context: SessionContext) -> str:
    return context.platform.name if context.platform else "none"


def _refused(sessions: PlatformSessions, token: str) -> bool:
    try:
        sessions.resolve(token)
    except PlatformSessionsError:
        return True
    return False


def describe_event(event: DomainEvent) -> str:
    """One line for an event, as the walkthrough prints it."""
    details = ", ".join(
        f"{key}={value.value if hasattr(value, 'value') else value}"
        for key, value in sorted(vars_of(event).items())
        if key not in ("occurred_at", "user_id")
    )
    return f"{event.name}({details})"


def vars_of(event: DomainEvent) -> dict[str, object]:
    """The event's fields by name."""
    return {field.name: getattr(event, field.name) for field in attrs.fields(type(event))}
