from __future__ import annotations

import pytest

from platform_sessions.domain.errors import (
    InvalidInput,
    PlatformAlreadyConnected,
    PlatformInactive,
    PlatformNotFound,
)
from platform_sessions.domain.events import PlatformChange, PlatformConnectionChanged


def changes(world) -> list[tuple[str, PlatformChange]]:
    return [(e.platform_id, e.change) for e in world.events(PlatformConnectionChanged)]


def test_the_first_platform_becomes_the_default_and_the_second_does_not(world):
    mastodon, pixelfed = world.connect_two()
    assert mastodon.is_default
    assert mastodon.is_active
    assert not pixelfed.is_default
    assert world.directory.default_for("alice") == mastodon
    assert changes(world) == [
        (mastodon.id, PlatformChange.CONNECTED),
        (pixelfed.id, PlatformChange.CONNECTED),
    ]
    assert world.directory.invalidated == ["alice", "alice"]


def test_connecting_as_default_moves_the_default(world):
    mastodon, _ = world.connect_two()
    third = world.connect(
        "alice",
        name="Work",
        platform_type="mastodon",
        instance_url="https://work.example",
        username="a",
        make_default=True,
    )
    assert world.directory.default_for("alice") == third
    assert not world.directory.get("alice", mastodon.id).is_default


def test_the_same_account_cannot_be_connected_twice(world):
    world.connect_two()
    with pytest.raises(PlatformAlreadyConnected):
        world.connect(
            "alice",
            name="Again",
            platform_type="mastodon",
            instance_url="https://MASTODON.example/",
            username="ALICE",
        )
    assert len(world.directory.list_for_user("alice")) == 2


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"platform_type": "Not A Slug"},
        {"instance_url": "ftp://x.example"},
        {"instance_url": "https://"},
        {"instance_url": "https://x.example:99999"},
        {"username": ""},
    ],
)
def test_bad_fields_are_refused_before_any_io(world, fields):
    valid = {
        "name": "Mastodon",
        "platform_type": "mastodon",
        "instance_url": "https://mastodon.example",
        "username": "alice",
    }
    with pytest.raises(InvalidInput):
        world.connect("alice", **{**valid, **fields})
    assert world.directory.list_for_user("alice") == []


def test_updating_renames_and_normalises(world):
    mastodon, _ = world.connect_two()
    updated = world.update_platform(
        "alice", mastodon.id, name="  Main  ", instance_url="https://New.example/"
    )
    assert (updated.name, updated.instance_url) == ("Main", "https://new.example")
    assert world.directory.get("alice", mastodon.id) == updated
    assert changes(world)[-1] == (mastodon.id, PlatformChange.UPDATED)


def test_an_update_that_changes_nothing_writes_nothing(world):
    mastodon, _ = world.connect_two()
    world.update_platform("alice", mastodon.id, name="Mastodon")
    assert len(changes(world)) == 2


def test_an_update_cannot_make_a_duplicate(world):
    mastodon, _ = world.connect_two()
    work = world.connect(
        "alice", name="Work", platform_type="mastodon", instance_url="https://work.example", username="a"
    )
    with pytest.raises(PlatformAlreadyConnected):
        world.update_platform(
            "alice", work.id, instance_url=mastodon.instance_url, username=mastodon.username
        )
    assert world.directory.get("alice", work.id) == work


def test_another_users_platform_cannot_be_changed(world):
    _, bobs = world.connect_two("bob")
    for action in (world.set_default, world.deactivate, world.activate, world.remove):
        with pytest.raises(PlatformNotFound):
            action("alice", bobs.id)
    with pytest.raises(PlatformNotFound):
        world.update_platform("alice", bobs.id, name="mine now")
    assert world.directory.get("bob", bobs.id) == bobs


def test_setting_the_default(world):
    mastodon, pixelfed = world.connect_two()
    world.set_default("alice", pixelfed.id)
    assert world.directory.default_for("alice").id == pixelfed.id
    assert not world.directory.get("alice", mastodon.id).is_default
    assert changes(world)[-1] == (pixelfed.id, PlatformChange.DEFAULT_SET)
    world.set_default("alice", pixelfed.id)  # already the default: nothing happens
    assert len(changes(world)) == 3


def test_an_inactive_platform_cannot_be_the_default(world):
    _, pixelfed = world.connect_two()
    world.deactivate("alice", pixelfed.id)
    with pytest.raises(PlatformInactive):
        world.set_default("alice", pixelfed.id)


def test_deactivating_moves_sessions_to_the_default(world):
    mastodon, pixelfed = world.connect_two()
    on_pixelfed = world.start("alice", platform_id=pixelfed.id)
    on_mastodon = world.start("alice")
    world.deactivate("alice", pixelfed.id)
    assert not world.directory.get("alice", pixelfed.id).is_active
    stored = world.sessions.get(on_pixelfed.token.digest)
    assert stored.active_platform_id == mastodon.id
    assert world.sessions.get(on_mastodon.token.digest).version == on_mastodon.context.session.version
    context = world.resolve(str(on_pixelfed.token))
    assert context.platform == world.directory.get("alice", mastodon.id)
    assert not context.platform_fell_back


def test_deactivating_the_default_leaves_no_default(world):
    mastodon, _ = world.connect_two()
    session = world.start("alice")
    world.deactivate("alice", mastodon.id)
    assert world.directory.default_for("alice") is None
    assert world.sessions.get(session.token.digest).active_platform_id is None
    assert world.resolve(str(session.token)).platform is None


def test_reactivating_makes_a_platform_usable_again(world):
    _, pixelfed = world.connect_two()
    world.deactivate("alice", pixelfed.id)
    world.activate("alice", pixelfed.id)
    session = world.start("alice")
    assert world.switch(session.context.session, pixelfed.id).changed
    assert [c for _, c in changes(world)][-2:] == [PlatformChange.DEACTIVATED, PlatformChange.ACTIVATED]


def test_removing_moves_sessions_off_and_forgets_the_platform(world):
    mastodon, pixelfed = world.connect_two()
    session = world.start("alice", platform_id=pixelfed.id)
    world.remove("alice", pixelfed.id)
    assert world.directory.get("alice", pixelfed.id) is None
    assert world.sessions.get(session.token.digest).active_platform_id == mastodon.id
    with pytest.raises(PlatformNotFound):
        world.remove("alice", pixelfed.id)
    assert changes(world)[-1] == (pixelfed.id, PlatformChange.REMOVED)
