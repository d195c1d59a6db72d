"""The domain of platform-sessions: entities, value objects, policies, events, errors and ports.

It imports nothing of the library but itself and nothing of any storage or web framework.
"""
