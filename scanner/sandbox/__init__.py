"""A fake internet on loopback: DNS, HTTP/HTTPS, RDAP and SMTP servers driven by a world file.

    from scanner.sandbox import Sandbox, load_world
    with Sandbox(load_world("world.yaml")) as box:
        box.config_toml()   # the lines that point the scanner at it
"""

from scanner.sandbox.runner import Sandbox, SandboxError
from scanner.sandbox.world import World, WorldError, load_world

__all__ = ["Sandbox", "SandboxError", "World", "WorldError", "load_world"]
