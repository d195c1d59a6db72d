

def test_a_redis_storage_publishes_through_the_bus_and_its_close_stops_the_subscriber(server):
    from platform_sessions.entrypoints import bootstrap
    from platform_sessions.entrypoints.web.event_broker import event_source_of

    sessions = bootstrap(redis_url=server.url, routing_key=ROUTING_KEY.secret.hex() if hasattr(ROUTING_KEY, "secret") else "k" * 40)
    bus = sessions.events
    assert isinstance(bus, RedisEventBus)
    assert event_source_of(bus) is bus  # the demo and the helpers find it: no warning
    follower = Follower()
    bus.subscribe_user("alice", follower.on_event, follower.on_gap)
    assert wait_until(lambda: bus.subscriber.connected)
    sessions.close()
    assert wait_until(
        lambda: not any(t.name == "platform-sessions-event-subscriber" for t in threading.enumerate())
    )
