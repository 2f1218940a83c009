# Strato's Python guest runtime: loads one function's handler and serves invocations sent by the
# host over the control socket on fd 3 (length-prefixed frames, see src/runtime/protocol.ts).
# print() and the context logger write to fd 1; each result frame says how many bytes of fd 1
# belong before it, so the host attributes output exactly. Standard library only.
import datetime
import errno
import importlib
import importlib.util
import json
import logging
import os
import resource
import socket
import struct
import sys
import time
import traceback

ENV = os.environ
CODE_ROOT = ""  # set when the host specialises this stem cell into an instance of one function
MAX_RESULT_BYTES = int(ENV.get("RUNTIME_MAX_RESP_BODY_SIZE", "6291456"))
MAX_LOG_BYTES = int(ENV.get("STRATO_MAX_LOG_BYTES", "1048576"))


class Output:
    """Counts and caps what goes to fd 1; stands in for sys.stdout and sys.stderr."""

    def __init__(self):
        self.total = 0
        self.invocation = 0
        self.capped = False

    def reset(self):
        self.invocation = 0
        self.capped = False

    def write_text(self, text):
        if not text:
            return 0
        data = text.encode("utf-8", "replace")
        if self.invocation + len(data) > MAX_LOG_BYTES:
            if self.capped:
                return len(text)
            self.capped = True
            room = max(0, MAX_LOG_BYTES - self.invocation)
            data = data[:room] + (
                "\n[log truncated: the limit is %d bytes per invocation]\n" % MAX_LOG_BYTES
            ).encode()
        self.invocation += len(data)
        view = memoryview(data)
        while view:
            try:
                n = os.write(1, view)
            except BlockingIOError:
                continue
            view = view[n:]
        self.total += len(data)
        return len(text)


OUT = Output()


class CapturedStream:
    encoding = "utf-8"
    errors = "replace"

    def write(self, text):
        return OUT.write_text(text if isinstance(text, str) else str(text))

    def flush(self):
        pass

    def isatty(self):
        return False

    def fileno(self):
        return 1

    def writable(self):
        return True


sys.stdout = CapturedStream()
sys.stderr = CapturedStream()

control = socket.socket(fileno=3)


def send(header, payload=b""):
    h = json.dumps(header, separators=(",", ":")).encode()
    control.sendall(struct.pack(">II", len(h), len(payload)) + h + payload)


def recv_exact(n):
    chunks = []
    while n > 0:
        chunk = control.recv(min(n, 1 << 20))
        if not chunk:
            os._exit(0)  # the host closed the socket: Strato stopped or dropped this instance
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv_frame():
    h_len, p_len = struct.unpack(">II", recv_exact(8))
    header = json.loads(recv_exact(h_len))
    payload = recv_exact(p_len) if p_len else b""
    return header, payload


class InvocationFormatter(logging.Formatter):
    def __init__(self, request_id):
        super().__init__()
        self.request_id = request_id

    def format(self, record):
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
        return "%s %s %s %s" % (
            now.replace("+00:00", "Z"),
            self.request_id,
            record.levelname,
            record.getMessage(),
        )


# The function's RUNTIME_LOG_LEVEL (a user_data variable, as in FunctionGraph's samples) sets where
# every logger starts; setLevel moves one logger. Anything unknown keeps INFO.
LOG_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
              "WARNING": logging.WARNING, "ERROR": logging.ERROR}


def default_log_level():
    return LOG_LEVELS.get(ENV.get("RUNTIME_LOG_LEVEL", "").strip().upper(), logging.INFO)


class FunctionLogger(logging.Logger):
    """One invocation's logger. Not registered with logging.getLogger (one per request would never
    be freed); `warn` stays for FunctionGraph samples (Python 3.13 dropped it from Logger)."""

    def warn(self, msg, *args, **kwargs):
        self.warning(msg, *args, **kwargs)

    def setLevel(self, level):
        if isinstance(level, str):
            level = LOG_LEVELS.get(level.strip().upper(), level)
        super().setLevel(level)
        self._cache.clear()  # the manager clears only registered loggers' caches


class Context:
    """The FunctionGraph context, with the same camelCase methods as the Node.js runtime."""

    def __init__(self, inv):
        self._inv = inv
        self._headers = inv.get("headers") or {}
        self._timeout_ms = int(ENV.get("RUNTIME_TIMEOUT", "3")) * 1000
        self._deadline = inv.get("deadline") or (time.time() * 1000 + self._timeout_ms)
        try:
            self._user_data = json.loads(ENV.get("RUNTIME_USERDATA") or "{}")
        except ValueError:
            self._user_data = {}
        request_id = inv.get("requestId", "")
        logger = FunctionLogger("strato.function.%s" % (request_id or "init"), default_log_level())
        logger.propagate = False
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(InvocationFormatter(request_id))
        logger.addHandler(handler)
        self._logger = logger

    def _h(self, name):
        return self._headers.get(name, "")

    def getRequestID(self):
        return self._inv.get("requestId", "")

    def getRemainingTimeInMilliSeconds(self):
        return max(0, int(self._deadline - time.time() * 1000))

    def getAccessKey(self):
        return self._h("x-cff-access-key")

    def getSecretKey(self):
        return self._h("x-cff-secret-key")

    def getSecurityAccessKey(self):
        return self._h("x-cff-security-access-key")

    def getSecuritySecretKey(self):
        return self._h("x-cff-security-secret-key")

    def getSecurityToken(self):
        return self._h("x-cff-security-token")

    def getToken(self):
        return self._h("x-cff-auth-token")

    def getUserData(self, key, default=None):
        value = self._user_data.get(key)
        return default if value is None else str(value)

    def getFunctionName(self):
        return ENV.get("RUNTIME_FUNC_NAME", "")

    def getRunningTimeInSeconds(self):
        # FunctionGraph quirk kept on purpose: the Python runtime returns milliseconds here.
        return self._timeout_ms

    def getVersion(self):
        return ENV.get("RUNTIME_FUNC_VERSION", "latest")

    def getMemorySize(self):
        return ENV.get("RUNTIME_MEMORY", "")

    def getCPUNumber(self):
        return ENV.get("RUNTIME_CPU", "")

    def getProjectID(self):
        return ENV.get("RUNTIME_PROJECT_ID", "")

    def getPackage(self):
        return ENV.get("RUNTIME_PACKAGE", "")

    def getAlias(self):
        return self._inv.get("alias", "")

    def getLogger(self):
        return self._logger

    def getWorkflowID(self):
        return self._h("x-cff-workflow-id")

    def getWorkflowRunID(self):
        return self._h("x-cff-workflow-run-id")

    def getWorkflowStateID(self):
        return self._h("x-cff-workflow-state-id")

    def getInvokeID(self):
        return self.getRequestID()

    def getTraceID(self):
        return self._h("x-cff-trace-id") or self.getRequestID()

    def getInstanceID(self):
        return ENV.get("STRATO_INSTANCE_ID", "")


# Errors travel in one frame: keep a huge message or stack from becoming a huge frame.
MAX_ERROR_MESSAGE_CHARS = 16384
MAX_STACK_LINES = 50


class ImportModuleError(Exception):
    pass


class HandlerNotFound(Exception):
    pass


class ResultSerializationError(Exception):
    pass


def error_json(exc):
    tb = traceback.extract_tb(exc.__traceback__)
    stack = ['File "%s", line %d, in %s' % (f.filename, f.lineno, f.name) for f in tb]
    if isinstance(exc, SyntaxError):
        stack.append('File "%s", line %s' % (exc.filename, exc.lineno))
    message = str(exc)
    if len(message) > MAX_ERROR_MESSAGE_CHARS:
        message = message[:MAX_ERROR_MESSAGE_CHARS] + "… [truncated]"
    return {"errorMessage": message, "errorType": type(exc).__name__, "stackTrace": stack[:MAX_STACK_LINES]}


def load_export(spec, what):
    module_path, _, name = spec.rpartition(".")
    file = os.path.join(CODE_ROOT, module_path + ".py")
    if not os.path.isfile(file):
        raise ImportModuleError(
            "Cannot find module '%s' for the %s '%s' in %s" % (module_path, what, spec, CODE_ROOT)
        )
    parts = module_path.split("/")
    if all(p.isidentifier() for p in parts):
        # A dotted import keeps package-relative imports working (src/app -> src.app).
        module = importlib.import_module(".".join(parts))
    else:
        # A path that is not a valid dotted name (v1.2/index) is loaded from its file.
        spec_ = importlib.util.spec_from_file_location("strato_handler_" + str(abs(hash(module_path))), file)
        module = importlib.util.module_from_spec(spec_)
        sys.modules[spec_.name] = module
        spec_.loader.exec_module(module)
    fn = getattr(module, name, None)
    if not callable(fn):
        raise HandlerNotFound(
            "The %s '%s' is not a function defined in %s.py" % (what, spec, module_path)
        )
    return fn


def memory_used_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def serialise(result):
    if isinstance(result, str):
        return True, result.encode("utf-8")
    if isinstance(result, (bytes, bytearray)):
        return True, bytes(result)
    return False, json.dumps(result, ensure_ascii=False).encode("utf-8")


def invoke(header, payload, handler):
    OUT.reset()
    try:
        event = json.loads(payload) if payload else {}
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting deeper than Python parses
        send({"t": "result", "id": header["id"], "badEvent": True, "message": str(exc), "out": OUT.total})
        return
    context = Context(header)
    try:
        result = handler(event, context)
        try:
            text, body = serialise(result)
        except (TypeError, ValueError) as exc:
            raise ResultSerializationError("The function result cannot be serialised to JSON: %s" % exc)
        if len(body) > MAX_RESULT_BYTES:
            raise ResponseTooLarge(
                "The function result is %d bytes; the limit is %d." % (len(body), MAX_RESULT_BYTES)
            )
        reply = {"t": "result", "id": header["id"], "ok": True, "text": text}
    except SystemExit as exc:
        # Tell the host why the process is about to end, then end it as the function asked.
        # As the interpreter does: no code means 0, a non-integer code means 1.
        code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
        send({"t": "exit", "id": header["id"], "code": code, "out": OUT.total})
        raise
    except Exception as exc:  # noqa: BLE001 - every user error becomes the error JSON
        err = error_json(exc)
        body = json.dumps(err).encode()
        reply = {"t": "result", "id": header["id"], "ok": False, "errorType": err["errorType"]}
        if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE):
            reply["fdsExhausted"] = True  # the instance cannot serve anyone well again
    reply["mem"] = memory_used_mb()
    reply["out"] = OUT.total
    send(reply, body)


class ResponseTooLarge(Exception):
    pass


def specialise(header):
    """The function's environment arrives in one frame, then the handler loads."""
    global CODE_ROOT
    for key, value in (header.get("env") or {}).items():
        ENV[key] = value
    CODE_ROOT = ENV.get("RUNTIME_CODE_ROOT", "")
    extra = [p for p in ENV.get("PYTHONPATH", "").split(":") if p]
    sys.path[0:0] = [CODE_ROOT] + extra
    try:
        os.chdir(CODE_ROOT)
    except OSError:
        pass  # a missing code root is reported by the module load


def main():
    send({"t": "cell", "out": OUT.total})
    while True:
        header, _ = recv_frame()
        if header.get("t") == "specialise":
            specialise(header)
            break
    try:
        handler = load_export(ENV.get("RUNTIME_HANDLER", ""), "handler")
        init_spec = ENV.get("RUNTIME_INITIALIZER_HANDLER")
        if init_spec:
            initializer = load_export(init_spec, "initializer")
            send({"t": "initializing", "out": OUT.total})
            initializer(Context({"requestId": "", "headers": {}}))
    except BaseException as exc:  # noqa: BLE001 - SyntaxError, SystemExit at import time, ...
        err = error_json(exc)
        send(
            {"t": "init-error", "errorType": err["errorType"], "mem": memory_used_mb(), "out": OUT.total},
            json.dumps(err).encode(),
        )
        return
    send({"t": "ready", "out": OUT.total})
    while True:
        header, payload = recv_frame()
        if header.get("t") == "invoke":
            invoke(header, payload, handler)


main()
