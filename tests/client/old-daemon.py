#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# A stand-in for a blinkd from before the Lines and Chips properties: a
# 2x3 matrix of offsets on one chip, lines 6 and 9 lit, programs kept as
# text. Enough of io.blinkd1.Manager for the client's start, list and watch
# --once. Runs on the session bus until killed.
import asyncio

from dbus_next import PropertyAccess
from dbus_next.aio import MessageBus
from dbus_next.service import ServiceInterface, dbus_property, method


class Manager(ServiceInterface):
    def __init__(self):
        super().__init__("io.blinkd1.Manager")
        self.programs = {}

    @method()
    def Start(self, name: "s", program: "s") -> "o":
        self.programs[name] = program
        return "/io/blinkd1/program/" + name

    @method()
    def List(self) -> "a(ss)":
        return [[n, p] for n, p in sorted(self.programs.items())]

    @method()
    def Subscribe(self):
        pass

    @method()
    def Unsubscribe(self):
        pass

    @dbus_property(access=PropertyAccess.READ)
    def Layout(self) -> "aau":
        return [[5, 6, 7], [8, 9, 10]]

    @dbus_property(access=PropertyAccess.READ)
    def Chip(self) -> "s":
        return "sim"

    @dbus_property(access=PropertyAccess.READ)
    def Lit(self) -> "au":
        return [6, 9]

    @dbus_property(access=PropertyAccess.READ)
    def Version(self) -> "s":
        return "0.9"


class ObjectManager(ServiceInterface):
    def __init__(self):
        super().__init__("org.freedesktop.DBus.ObjectManager")

    @method()
    def GetManagedObjects(self) -> "a{oa{sa{sv}}}":
        return {}


async def main():
    bus = await MessageBus().connect()
    bus.export("/io/blinkd1", Manager())
    bus.export("/io/blinkd1", ObjectManager())
    await bus.request_name("io.blinkd1")
    await bus.wait_for_disconnect()


asyncio.run(main())
