#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Drive blinkd over D-Bus from asyncio, one coroutine per blink program.

A blinkd program is a task on the daemon's side; here each one is a
coroutine on ours. run() starts a program and returns when blinkd reports
it finished, with the result ("done", "stopped", ...). Cancelling the
coroutine stops the program, so asyncio's own tools (gather, wait_for,
cancel) compose programs the way the daemon's "all", "any" and "sequence"
do.

    examples/asyncio_blinkd.py [--user]

Needs python3-dbus-next and a running blinkd (with --user: on the session
bus, e.g. "blinkd --user --chip sim").
"""
import asyncio
import json
import sys

from dbus_next import BusType, DBusError
from dbus_next.aio import MessageBus

NAME = "io.blinkd1"
PATH = "/io/blinkd1"


class Blinkd:
    """The manager, with one future per program name waiting for Finished."""

    def __init__(self, manager):
        self.manager = manager
        self.waiting = {}
        manager.on_finished(self._finished)

    @classmethod
    async def connect(cls, bus_type):
        bus = await MessageBus(bus_type=bus_type).connect()
        introspection = await bus.introspect(NAME, PATH)
        proxy = bus.get_proxy_object(NAME, PATH, introspection)
        return cls(proxy.get_interface("io.blinkd1.Manager"))

    def _finished(self, name, result):
        future = self.waiting.pop(name, None)
        if future and not future.done():
            future.set_result(result)

    async def run(self, name, program):
        """Start PROGRAM as NAME and wait until it finishes; cancelling stops it."""
        future = asyncio.get_running_loop().create_future()
        # Waiting before starting: a short program may end before Start returns.
        self.waiting[name] = future
        try:
            await self.manager.call_start(name, json.dumps(program))
        except DBusError:
            self.waiting.pop(name, None)
            raise
        try:
            return await future
        except asyncio.CancelledError:
            try:
                await self.manager.call_stop(name)
            except DBusError:
                pass  # it ended on its own meanwhile
            raise


def blink(lines, interval, times):
    return {"blink": {"lines": lines, "interval": interval, "times": times}}


async def main():
    bus_type = BusType.SESSION if "--user" in sys.argv[1:] else BusType.SYSTEM
    blinkd = await Blinkd.connect(bus_type)

    # A blink: await it like any coroutine.
    print("heartbeat:", await blinkd.run("heartbeat", blink([11], "50ms", 3)))

    # A sequence on our side: one program after the other.
    for col in range(3):
        print(f"column {col}:", await blinkd.run(f"col{col}", blink({"col": col}, "20ms", 2)))

    # Two at once, like "all": gather waits for both.
    results = await asyncio.gather(blinkd.run("row0", blink({"row": 0}, "30ms", 2)),
                                   blinkd.run("row4", blink({"row": 4}, "20ms", 4)))
    print("rows 0 and 4:", results)

    # Cancel: a program that would run forever, stopped after 300 ms.
    forever = asyncio.create_task(blinkd.run("forever", {"cycle": {"lines": {"row": 2},
                                                                   "interval": "50ms"}}))
    await asyncio.sleep(0.3)
    forever.cancel()
    try:
        await forever
    except asyncio.CancelledError:
        print("forever: cancelled, and stopped on the daemon")

    # A timeout is a cancel too.
    try:
        await asyncio.wait_for(blinkd.run("slow", blink([12], "1s", 10)), timeout=0.2)
    except asyncio.TimeoutError:
        print("slow: timed out, and stopped on the daemon")

    # The daemon's errors arrive as exceptions.
    try:
        await blinkd.run("bad", {"wait": "5 parsecs"})
    except DBusError as e:
        print("bad:", e.type, "-", e.text)


if __name__ == "__main__":
    asyncio.run(main())
