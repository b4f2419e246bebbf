#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The daemon's introspection matches the shipped interface description.

Starts a private dbus-daemon and blinkd on the simulated chip, starts one
program, and compares `busctl --user introspect --xml-interface` of
/io/blinkd1 (io.blinkd1.Manager) and of the program's object
(io.blinkd1.Program) with $BLINKD_INTERFACE_XML: methods with their
arguments' names, types and directions, signals with their arguments,
properties with type and access. Documentation annotations are ignored.
"""

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

BUS_NAME = "io.blinkd1"
INTERFACES = {
    "io.blinkd1.Manager": "/io/blinkd1",
    "io.blinkd1.Program": "/io/blinkd1/program/intro",
    "io.blinkd1.Simulation": "/io/blinkd1",
}
# blinkd may run under a wrapper ($BLINKD_WRAPPER, as in the harness: words
# split at spaces go before it), which makes it slower: wait 10 times longer.
WRAPPER = os.environ.get("BLINKD_WRAPPER", "").split()
TIMEOUT = 200.0 if WRAPPER else 20.0

failures = []


def fail(message):
    failures.append(message)
    print("check failed: " + message, file=sys.stderr)


def describe(interface):
    """What an interface element promises, without its documentation."""

    def args(element, default_direction):
        return [
            (a.get("name"), a.get("type"), a.get("direction", default_direction))
            for a in element.findall("arg")
        ]

    return {
        "methods": {m.get("name"): args(m, "in") for m in interface.findall("method")},
        "signals": {s.get("name"): args(s, "out") for s in interface.findall("signal")},
        "properties": {
            p.get("name"): (p.get("type"), p.get("access"))
            for p in interface.findall("property")
        },
    }


def find_interface(root, name):
    for interface in root.iter("interface"):
        if interface.get("name") == name:
            return interface
    return None


def compare(name, shipped, live):
    for kind in ("methods", "signals", "properties"):
        want, have = shipped[kind], live[kind]
        for member in sorted(set(want) | set(have)):
            if member not in have:
                fail(f"{name}: {kind[:-1]} {member} is in the shipped XML, not in the daemon")
            elif member not in want:
                fail(f"{name}: {kind[:-1]} {member} is in the daemon, not in the shipped XML")
            elif want[member] != have[member]:
                fail(f"{name}.{member}: shipped {want[member]}, daemon {have[member]}")


def wait_for(predicate, what):
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for " + what)
        time.sleep(0.01)


def die_with_parent():
    """In the child: SIGKILL when the test goes away, however it goes."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def busctl(*args, check=True):
    return subprocess.run(
        ["busctl", "--user", *args], capture_output=True, text=True, check=check, timeout=TIMEOUT
    )


def name_has_owner():
    r = busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
               "org.freedesktop.DBus", "NameHasOwner", "s", BUS_NAME, check=False)
    return r.returncode == 0 and r.stdout.strip() == "b true"


def main():
    blinkd = os.environ.get("BLINKD")
    xml_path = os.environ.get("BLINKD_INTERFACE_XML")
    if not blinkd or not xml_path:
        print("BLINKD and BLINKD_INTERFACE_XML must be set (meson sets them); skipping")
        return 77
    for tool in ("dbus-daemon", "busctl"):
        if not shutil.which(tool):
            print(f"{tool} is missing; skipping")
            return 77

    if not os.path.exists(xml_path):
        fail(f"the shipped interface description {xml_path} does not exist")
        return 1
    shipped_root = ET.parse(xml_path).getroot()

    # meson's timeout sends SIGTERM: leave through the finally below, which cleans up.
    signal.signal(signal.SIGTERM, lambda signo, frame: sys.exit(128 + signo))
    children = []
    with tempfile.TemporaryDirectory(prefix="blinkd-introspect-") as tmp:
        try:
            socket = os.path.join(tmp, "bus")
            env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS="unix:path=" + socket)
            os.environ["DBUS_SESSION_BUS_ADDRESS"] = env["DBUS_SESSION_BUS_ADDRESS"]
            with open(os.path.join(tmp, "dbus-daemon.log"), "w") as log:
                children.append(subprocess.Popen(
                    ["dbus-daemon", "--session", "--nofork", "--nopidfile",
                     "--address=unix:path=" + socket],
                    stdout=log, stderr=log, env=env, preexec_fn=die_with_parent))
            wait_for(lambda: os.path.exists(socket), "the private bus")

            config = os.path.join(tmp, "blinkd.json")
            with open(config, "w") as f:
                f.write("{}")
            log_path = os.path.join(tmp, "blinkd.log")
            with open(log_path, "w") as log:
                daemon = subprocess.Popen(
                    [*WRAPPER, blinkd, "--user", "--chip", "sim", "--config", config,
                     "--state-dir", os.path.join(tmp, "state")],
                    stdout=log, stderr=log, env=env, preexec_fn=die_with_parent)
                children.append(daemon)

            def up():
                if daemon.poll() is not None:
                    with open(log_path) as f:
                        raise RuntimeError(f"blinkd exited ({daemon.returncode}):\n{f.read()}")
                return name_has_owner()

            wait_for(up, "blinkd to take " + BUS_NAME)
            busctl("call", BUS_NAME, "/io/blinkd1", "io.blinkd1.Manager", "Start", "ss",
                   "intro", '{"on":{"lines":[11]}}')

            for name, path in INTERFACES.items():
                shipped = find_interface(shipped_root, name)
                if shipped is None:
                    fail(f"{xml_path} does not describe {name}")
                    continue
                out = busctl("introspect", "--xml-interface", BUS_NAME, path).stdout
                live = find_interface(ET.fromstring(out), name)
                if live is None:
                    fail(f"the daemon has no {name} at {path}")
                    continue
                compare(name, describe(shipped), describe(live))

            daemon.send_signal(signal.SIGTERM)
            if daemon.wait(timeout=TIMEOUT) != 0:
                fail(f"blinkd exited {daemon.returncode} on SIGTERM")
        finally:
            for child in reversed(children):
                if child.poll() is None:
                    child.kill()
                child.wait()

    print(f"check-introspection: {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
