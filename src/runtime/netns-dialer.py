"""Strato's network-namespace dialer: a trusted host helper, one per Strato process, run as root.

An HTTP function's server listens on 127.0.0.1:8000 inside its instance's own network namespace,
out of the host's reach. Strato asks this helper for connections: it enters the namespace, opens a
TCP connection to port 8000 there, leaves, and hands the connected socket to Strato over Node's IPC
channel (NODE_CHANNEL_FD), so Strato's HTTP client talks to the server directly, with no relay
process copying bytes in between. A socket keeps the namespace it was made in; nothing inside the
sandbox takes part, so nothing untrusted writes to this channel.

Requests (one JSON object per line, Node's "json" IPC serialisation):
  {"op": "open", "id": I, "pid": P}  hold instance I's namespace: that of the first child of the
                                      sandbox's outer process P (checked by its start time S when
                                      given as "start": S)
  {"op": "dial", "id": I, "seq": N}  connect to 127.0.0.1:8000 in I's namespace
  {"op": "close", "id": I}           let the namespace go
  {"op": "nft", "seq": N, "commands": T}  run nftables commands T (instance egress, ADR 0023)
                                      through libnftables: no process started per change
Answers: a socket as a NODE_HANDLE message whose msg is {"seq": N}, or {"seq": N, "error": text}
for a dial, {"op": "opened" | "open-failed", "id": I, ...} for an open, {"op": "nft-done" |
"nft-failed", "seq": N, ...} for nft. Lines go out in order; a
handle waits for Node's NODE_HANDLE_ACK before anything else is sent.
"""

import ctypes
import json
import os
import socket
import sys

CLONE_NEWNET = 0x40000000
PORT = 8000
CONNECT_TIMEOUT_S = 2.0

libc = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: " + os.strerror(err))


channel = socket.socket(fileno=int(os.environ["NODE_CHANNEL_FD"]))
channel.setblocking(True)
home_ns = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
namespaces = {}  # instance id -> fd of its network namespace
pending = b""


def read_lines():
    """Yields complete lines from the channel; returns at EOF (Strato is gone)."""
    global pending
    while True:
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if line.strip():
                yield json.loads(line)
        chunk = channel.recv(65536)
        if not chunk:
            return
        pending += chunk


lines = read_lines()


def send(obj, fd=None):
    data = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
    if fd is None:
        channel.sendall(data)
        return
    socket.send_fds(channel, [data], [fd])
    # Node acknowledges each handle; until then another one could be attached to the wrong read.
    queued = []
    for msg in lines:
        if msg.get("cmd") == "NODE_HANDLE_ACK":
            break
        queued.append(msg)
    backlog.extend(queued)


backlog = []


def start_time(pid):
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    return stat[stat.rindex(")") + 2 :].split(" ")[19]


def open_namespace(msg):
    pid = int(msg["pid"])
    if "start" in msg and msg["start"] and start_time(pid) != str(msg["start"]):
        raise OSError("process %d is not the sandbox it was" % pid)
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        kids = f.read().split()
    if not kids:
        raise OSError("the sandbox of process %d has no process inside" % pid)
    fd = os.open("/proc/%s/ns/net" % kids[0], os.O_RDONLY | os.O_CLOEXEC)
    if os.fstat(fd).st_ino == os.fstat(home_ns).st_ino:
        os.close(fd)
        raise OSError("process %s shares Strato's network namespace" % kids[0])
    old = namespaces.pop(msg["id"], None)
    if old is not None:
        os.close(old)
    namespaces[msg["id"]] = fd


def dial(ns_fd):
    setns(ns_fd)
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    finally:
        setns(home_ns)
    try:
        sock.settimeout(CONNECT_TIMEOUT_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.connect(("127.0.0.1", PORT))
        return sock
    except BaseException:
        sock.close()
        raise


nft_context = None


def run_nft(commands):
    """Runs nftables commands in this process (libnftables): ~0.1 ms, where `nft` costs ~6 ms."""
    global nft_context
    if nft_context is None:
        lib = ctypes.CDLL("libnftables.so.1", use_errno=True)
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        context = lib.nft_ctx_new(0)
        lib.nft_ctx_buffer_error(context)
        nft_context = (lib, context)
    lib, context = nft_context
    if lib.nft_run_cmd_from_buffer(context, commands.encode()) != 0:
        raise OSError((lib.nft_ctx_get_error_buffer(context) or b"nft failed").decode().strip())


def handle(msg):
    op = msg.get("op")
    if op == "nft":
        try:
            run_nft(str(msg.get("commands", "")))
            send({"op": "nft-done", "seq": msg.get("seq")})
        except OSError as err:
            send({"op": "nft-failed", "seq": msg.get("seq"), "error": str(err)})
        return
    if op == "open":
        try:
            open_namespace(msg)
            send({"op": "opened", "id": msg["id"]})
        except (OSError, ValueError, KeyError) as err:
            send({"op": "open-failed", "id": msg.get("id"), "error": str(err)})
    elif op == "dial":
        ns_fd = namespaces.get(msg.get("id"))
        if ns_fd is None:
            send({"seq": msg.get("seq"), "error": "no namespace is held for this instance"})
            return
        try:
            sock = dial(ns_fd)
        except OSError as err:
            send({"seq": msg.get("seq"), "error": err.strerror or str(err)})
            return
        try:
            send({"cmd": "NODE_HANDLE", "type": "net.Socket", "msg": {"seq": msg.get("seq")}}, sock.fileno())
        finally:
            sock.close()
    elif op == "close":
        fd = namespaces.pop(msg.get("id"), None)
        if fd is not None:
            os.close(fd)


def main():
    while True:
        while backlog:
            handle(backlog.pop(0))
        msg = next(lines, None)
        if msg is None:
            return
        if isinstance(msg, dict) and not str(msg.get("cmd", "")).startswith("NODE_"):
            handle(msg)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
    sys.exit(0)
