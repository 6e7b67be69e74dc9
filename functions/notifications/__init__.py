"""Notifications: the notifications of a tenant. Written by ``keel new context``: make it yours."""
