"""How observations are kept in the store: the typed observation's `dump`, as compact JSON, compressed."""

from __future__ import annotations

import json
import zlib

from core.observation import Observation, dump, load


def encode(obs: Observation) -> bytes:
    data = json.dumps(dump(obs), ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")
    return zlib.compress(data, 6)


def decode(blob: bytes) -> Observation:
    return load(json.loads(zlib.decompress(blob)))
