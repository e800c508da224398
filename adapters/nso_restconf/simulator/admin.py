"""Admin endpoints (not NSO): fault injection and the configuration held by devices."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from adapters.nso_restconf.simulator.faults import Faults
from adapters.nso_restconf.simulator.replies import state_of


async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(state_of(request).faults.faults.model_dump())


async def put_faults(request: web.Request) -> web.Response:
    state = state_of(request)
    try:
        faults = Faults.model_validate(await request.json())
    except (ValueError, ValidationError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    state.faults.set(faults)
    return web.json_response(faults.model_dump())


async def device_config(request: web.Request) -> web.Response:
    """GET or PUT the configuration held by the device itself (a change made on the box)."""
    state = state_of(request)
    name = request.match_info["name"]
    device = state.devices.get(name)
    if device is None:
        return web.json_response({"error": f"no device {name!r}"}, status=404)
    if request.method == "PUT":
        try:
            config = await request.json()
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        if not isinstance(config, dict):
            return web.json_response({"error": "config must be an object"}, status=400)
        device.actual = config
    return web.json_response(device.actual)


def add_admin_routes(app: web.Application) -> None:
    app.router.add_get("/sim/faults", get_faults)
    app.router.add_put("/sim/faults", put_faults)
    app.router.add_route("GET", "/sim/devices/{name}/config", device_config)
    app.router.add_route("PUT", "/sim/devices/{name}/config", device_config)
