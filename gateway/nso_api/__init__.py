"""The NSO part of the orchestrator API: ``nsgw.v1.NsoServices`` and ``nsgw.v1.NsoDevices``.

Reads answer directly; everything that acts (or runs an NSO action) starts an
operation of one of the kinds in :mod:`gateway.nso_api.service_kinds` and
:mod:`gateway.nso_api.device_kinds`, run by the operations engine with the
gateway's NSO client.
"""
