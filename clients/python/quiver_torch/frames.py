"""Reads Quiver's npy frames (src/server/npy-frames.ts) with the standard library and numpy.

A frame is a little-endian u32 header length, a UTF-8 JSON header, then the arrays the header
lists (each a .npy file, format 1.0, of the byte length it gives). A batch frame becomes a dict
of column name -> numpy array (tensors) or list (text, bytes); "end" and "error" frames end it.
"""

import io
import json
import struct

import numpy as np


class QuiverStreamError(RuntimeError):
    """The server refused the stream or failed midway; `code` is Quiver's error code."""

    def __init__(self, code, message, details=None):
        super().__init__(message)
        self.code = code
        self.details = details or {}


def _read_exactly(stream, n):
    chunks = []
    while n > 0:
        chunk = stream.read(n)
        if not chunk:
            raise QuiverStreamError("corrupt", "quiver_torch: the stream ended inside a frame")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _npy(raw):
    return np.load(io.BytesIO(raw), allow_pickle=False)


def _varying(offsets, data, encoding):
    values = []
    for k in range(len(offsets) - 1):
        b = data[offsets[k]:offsets[k + 1]].tobytes()
        values.append(b if encoding == "bytes" else json.loads(b) if encoding == "json" and b else b.decode("utf-8"))
    return values


def read_frames(stream):
    """Yields (header, batch dict) for each batch frame of a binary file-like `stream`."""
    while True:
        head = stream.read(4)
        if not head:
            raise QuiverStreamError("corrupt", "quiver_torch: the stream ended without an end frame")
        if len(head) < 4:
            head += _read_exactly(stream, 4 - len(head))
        (length,) = struct.unpack("<I", head)
        header = json.loads(_read_exactly(stream, length))
        if header["type"] == "end":
            return
        if header["type"] == "error":
            e = header["error"]
            raise QuiverStreamError(e["code"], e["message"], e.get("details"))
        batch = {}
        pending = {}
        for a in header["arrays"]:
            arr = _npy(_read_exactly(stream, a["bytes"]))
            name, part = a["column"], a["part"]
            if part == "tensor":
                batch[name] = arr
            elif part == "valid":
                batch[name + "_valid"] = arr.astype(bool)
            elif part == "offsets":
                pending[name] = arr
            else:
                batch[name] = _varying(pending.pop(name), arr, a.get("encoding", "utf8"))
        yield header, batch
