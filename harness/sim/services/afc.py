"""AFC (Apple File Conduit): the media partition (``com.apple.afc``) and the crash report folder
(``com.apple.crashreportcopymobile``) of a virtual phone.

Packets: a 40-byte little-endian header (``CFA6LPAA``, entire_length, this_length, packet_num,
operation) and a payload. Replies carry the request's packet_num; errors are a STATUS packet with
a u64 AFC error code.
"""

from __future__ import annotations

import asyncio
import struct

from harness.sim.fs import VirtualFS, norm
from harness.sim.phone import PortHandler, VirtualPhone

MAGIC = b"CFA6LPAA"
HEADER = struct.Struct("<8sQQQQ")

OP_STATUS, OP_DATA, OP_READ_DIR, OP_REMOVE_PATH, OP_MAKE_DIR = 0x1, 0x2, 0x3, 0x8, 0x9
OP_GET_FILE_INFO, OP_GET_DEVINFO, OP_FILE_OPEN, OP_FILE_OPEN_RES = 0xA, 0xB, 0xD, 0xE
OP_READ, OP_WRITE, OP_FILE_SEEK, OP_FILE_TELL, OP_FILE_TELL_RES = 0xF, 0x10, 0x11, 0x12, 0x13
OP_FILE_CLOSE, OP_FILE_SET_SIZE, OP_RENAME_PATH, OP_FILE_LOCK, OP_REMOVE_PATH_AND_CONTENTS = (
    0x14,
    0x15,
    0x18,
    0x1B,
    0x22,
)
OP_SET_FILE_TIME = 0x1E

E_SUCCESS, E_UNKNOWN, E_INVALID_ARG, E_NOT_FOUND, E_IS_DIR, E_NOT_SUPPORTED = 0, 1, 7, 8, 9, 15
E_OBJECT_EXISTS, E_DIR_NOT_EMPTY = 16, 33


def _cstrings(data: bytes) -> list[str]:
    return [s.decode("utf-8", "replace") for s in data.split(b"\x00")[:-1]]


def _kv(pairs: dict[str, object]) -> bytes:
    return b"".join(f"{k}\x00{v}\x00".encode() for k, v in pairs.items())


class AfcSession:
    def __init__(self, fs: VirtualFS) -> None:
        self.fs = fs
        self.handles: dict[int, list] = {}  # handle -> [path, position]
        self.next_handle = 1

    def handle(self, op: int, payload: bytes) -> tuple[int, bytes]:
        """(reply opcode, reply payload); STATUS replies carry a u64 error code."""
        fs = self.fs
        if op == OP_READ_DIR:
            path = _cstrings(payload)[0]
            node = fs.get(path)
            if node is None:
                return self._status(E_NOT_FOUND)
            if not node.is_dir:
                return self._status(E_INVALID_ARG)
            names = [".", "..", *fs.listdir(path)]
            return OP_DATA, b"".join(n.encode() + b"\x00" for n in names)
        if op == OP_GET_FILE_INFO:
            node = fs.get(_cstrings(payload)[0])
            if node is None:
                return self._status(E_NOT_FOUND)
            size = 64 * 3 if node.is_dir else len(node.data)
            return OP_DATA, _kv(
                {
                    "st_size": size,
                    "st_blocks": (size + 511) // 512,
                    "st_nlink": 2 if node.is_dir else 1,
                    "st_ifmt": "S_IFDIR" if node.is_dir else "S_IFREG",
                    "st_mtime": node.mtime_ns,
                    "st_birthtime": node.birth_ns,
                }
            )
        if op == OP_GET_DEVINFO:
            return OP_DATA, _kv(
                {
                    "Model": "iPhone15,2",
                    "FSTotalBytes": 128_000_000_000,
                    "FSFreeBytes": 64_000_000_000,
                    "FSBlockSize": 4096,
                }
            )
        if op == OP_MAKE_DIR:
            try:
                fs.makedirs(_cstrings(payload)[0])
            except FileExistsError:
                return self._status(E_OBJECT_EXISTS)
            return self._status(E_SUCCESS)
        if op in (OP_REMOVE_PATH, OP_REMOVE_PATH_AND_CONTENTS):
            path = _cstrings(payload)[0]
            try:
                fs.remove(path, recursive=op == OP_REMOVE_PATH_AND_CONTENTS)
            except FileNotFoundError:
                return self._status(E_NOT_FOUND)
            except OSError:
                return self._status(E_DIR_NOT_EMPTY)
            return self._status(E_SUCCESS)
        if op == OP_RENAME_PATH:
            src, dst = _cstrings(payload)[:2]
            try:
                fs.rename(src, dst)
            except FileNotFoundError:
                return self._status(E_NOT_FOUND)
            return self._status(E_SUCCESS)
        if op == OP_FILE_OPEN:
            (mode,) = struct.unpack_from("<Q", payload)
            path = norm(_cstrings(payload[8:])[0])
            node = fs.get(path)
            if node is not None and node.is_dir:
                return self._status(E_IS_DIR)
            if mode == 1 and node is None:  # read-only needs the file
                return self._status(E_NOT_FOUND)
            if mode in (3, 4) or node is None:  # w / w+ truncate; r+/a create
                fs.write(path, b"")
            h = self.next_handle
            self.next_handle += 1
            position = len(fs.get(path).data) if mode in (5, 6) else 0
            self.handles[h] = [path, position]
            return OP_FILE_OPEN_RES, struct.pack("<Q", h)
        if op == OP_READ:
            h, size = struct.unpack_from("<QQ", payload)
            entry = self.handles.get(h)
            if entry is None:
                return self._status(E_INVALID_ARG)
            data = fs.get(entry[0]).data
            chunk = bytes(data[entry[1] : entry[1] + size])
            entry[1] += len(chunk)
            return OP_DATA, chunk
        if op == OP_WRITE:
            (h,) = struct.unpack_from("<Q", payload)
            entry = self.handles.get(h)
            if entry is None:
                return self._status(E_INVALID_ARG)
            node = fs.get(entry[0])
            chunk = payload[8:]
            node.data[entry[1] : entry[1] + len(chunk)] = chunk
            entry[1] += len(chunk)
            return self._status(E_SUCCESS)
        if op == OP_FILE_SEEK:
            h, whence, offset = struct.unpack_from("<QQq", payload)
            entry = self.handles.get(h)
            if entry is None:
                return self._status(E_INVALID_ARG)
            base = {0: 0, 1: entry[1], 2: len(fs.get(entry[0]).data)}.get(whence, 0)
            entry[1] = max(0, base + offset)
            return self._status(E_SUCCESS)
        if op == OP_FILE_TELL:
            (h,) = struct.unpack_from("<Q", payload)
            entry = self.handles.get(h)
            if entry is None:
                return self._status(E_INVALID_ARG)
            return OP_FILE_TELL_RES, struct.pack("<Q", entry[1])
        if op == OP_FILE_SET_SIZE:
            h, size = struct.unpack_from("<QQ", payload)
            entry = self.handles.get(h)
            if entry is None:
                return self._status(E_INVALID_ARG)
            node = fs.get(entry[0])
            del node.data[size:]
            node.data.extend(b"\x00" * max(0, size - len(node.data)))
            return self._status(E_SUCCESS)
        if op == OP_FILE_CLOSE:
            (h,) = struct.unpack_from("<Q", payload)
            if self.handles.pop(h, None) is None:
                return self._status(E_INVALID_ARG)
            return self._status(E_SUCCESS)
        if op in (OP_FILE_LOCK, OP_SET_FILE_TIME):
            return self._status(E_SUCCESS)
        return self._status(E_NOT_SUPPORTED)

    @staticmethod
    def _status(code: int) -> tuple[int, bytes]:
        return OP_STATUS, struct.pack("<Q", code)


async def serve_afc(fs: VirtualFS, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    session = AfcSession(fs)
    while True:
        try:
            head = await reader.readexactly(HEADER.size)
        except asyncio.IncompleteReadError:
            return
        magic, entire, _this, num, op = HEADER.unpack(head)
        if magic != MAGIC or entire < HEADER.size:
            return
        payload = await reader.readexactly(entire - HEADER.size)
        reply_op, data = session.handle(op, payload)
        total = HEADER.size + len(data)
        writer.write(
            HEADER.pack(MAGIC, total, total if reply_op == OP_STATUS else HEADER.size, num, reply_op) + data
        )
        await writer.drain()


def afc_service(phone: VirtualPhone) -> PortHandler:
    return lambda reader, writer: serve_afc(phone.media, reader, writer)


def crash_copy_service(phone: VirtualPhone) -> PortHandler:
    return lambda reader, writer: serve_afc(phone.crash_fs, reader, writer)
