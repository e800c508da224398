"""Cisco NSO over RESTCONF: an async client and a simulator."""
