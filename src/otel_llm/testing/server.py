"""`BedrockEmulator`: a local HTTP server speaking Bedrock Runtime's REST-JSON and event-stream wire protocol.

Real boto3 reaches it through `endpoint_url`. Answers are scripted with `Reply` (queued, per model, by
predicate, or by a responder callable); unscripted calls get a deterministic answer derived from the prompt.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from . import converse, families
from .content import base_model_id, count_tokens, default_reply, request_texts, split_text
from .eventstream import event_message, exception_message
from .reply import GUARDRAIL_BLOCKED_MESSAGE, BedrockError, EmulatorRequest, Reply

logger = logging.getLogger("otel_llm.testing")

_ROUTES = (
    (re.compile(r"^/model/([^/]+)/invoke$"), "InvokeModel"),
    (re.compile(r"^/model/([^/]+)/invoke-with-response-stream$"), "InvokeModelWithResponseStream"),
    (re.compile(r"^/model/([^/]+)/converse$"), "Converse"),
    (re.compile(r"^/model/([^/]+)/converse-stream$"), "ConverseStream"),
    (re.compile(r"^/guardrail/([^/]+)/version/([^/]+)/apply$"), "ApplyGuardrail"),
)
_STREAMING = frozenset({"InvokeModelWithResponseStream", "ConverseStream"})
_PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

Responder = Callable[[EmulatorRequest], "Reply | None"]


@dataclass
class _Script:
    reply: Reply
    model_id: str | None
    match: Callable[[EmulatorRequest], bool] | None
    remaining: int | None  # None: answers every matching call

    def matches(self, request: EmulatorRequest) -> bool:
        if (
            self.model_id is not None
            and self.model_id != request.model_id
            and (base_model_id(self.model_id) != request.base_model_id)
        ):
            return False
        return self.match is None or bool(self.match(request))


class BedrockEmulator:
    """A Bedrock Runtime-compatible server on 127.0.0.1 (port 0 picks a free port); also a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()  # a `match` predicate may read `requests`
        self._scripts: list[_Script] = []
        self._requests: list[EmulatorRequest] = []
        self._responder: Responder | None = None
        self._profiles: dict[str, tuple[str, str]] = {}  # profile id -> (ARN, model id)

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> BedrockEmulator:
        """Bind and serve in a background thread."""
        if self._server is None:
            self._server = _Server((self.host, self.port), _Handler, self)
            self.port = self._server.server_address[1]
            self._thread = threading.Thread(  # a short poll interval makes stop() quick
                target=self._server.serve_forever, args=(0.05,), name="bedrock-emulator", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close open connections."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> BedrockEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        """The URL to pass to boto3 as `endpoint_url`."""
        if self._server is None:
            raise RuntimeError("the emulator is not started; call start() or use it as a context manager")
        return f"http://{self.host}:{self.port}"

    def client(
        self,
        service: str = "bedrock-runtime",
        region: str = "us-east-1",
        max_attempts: int = 1,
        **config: Any,
    ) -> Any:
        """A boto3 client for this server: dummy credentials, `max_attempts` tries, extra `Config` args."""
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        )
        retries = {"total_max_attempts": max_attempts, "mode": "standard"}
        return session.client(
            service, endpoint_url=self.endpoint_url, config=Config(retries=retries, **config)
        )

    # --- scripting ----------------------------------------------------------------------------------

    def enqueue(
        self,
        reply: Reply,
        model_id: str | None = None,
        *,
        match: Callable[[EmulatorRequest], bool] | None = None,
        times: int | None = 1,
    ) -> None:
        """Queue `reply` for the next call (FIFO) that is for `model_id` (bare, profile or ARN) and satisfies
        `match(request)`; it answers `times` calls (None: every matching call)."""
        if not isinstance(reply, Reply):
            raise TypeError(f"enqueue() takes a Reply, got {type(reply).__name__}")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        with self._lock:
            self._scripts.append(_Script(reply, model_id, match, times))

    def add_inference_profile(self, profile: str, model_id: str, region: str = "us-east-1") -> str:
        """Register an application inference profile (id or ARN) for `model_id`; returns its ARN.

        Calls naming it are answered in that model's format, and `GetInferenceProfile` describes it.
        """
        name = profile.rsplit("/", 1)[-1]
        arn = (
            profile
            if profile.startswith("arn:")
            else (f"arn:aws:bedrock:{region}:123456789012:application-inference-profile/{name}")
        )
        with self._lock:
            self._profiles[name] = (arn, model_id)
        return arn

    def _base_model_id(self, model_id: str) -> str:
        profile = self._profiles.get(unquote(model_id).rsplit("/", 1)[-1])
        return base_model_id(profile[1] if profile else model_id)

    def _inference_profile(self, identifier: str) -> dict[str, Any]:
        """The GetInferenceProfile answer: registered application profiles and any cross-region profile."""
        name = identifier.rsplit("/", 1)[-1]
        if name in self._profiles:
            arn, model_id = self._profiles[name]
            kind = "APPLICATION"
        elif base_model_id(name) != name:
            arn = (
                identifier
                if identifier.startswith("arn:")
                else (f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{name}")
            )
            model_id, kind = name, "SYSTEM_DEFINED"
        else:
            raise BedrockError("ResourceNotFoundException", f"Inference profile {identifier} not found.")
        model_arn = f"arn:aws:bedrock:{arn.split(':')[3]}::foundation-model/{base_model_id(model_id)}"
        return {
            "inferenceProfileName": name,
            "inferenceProfileArn": arn,
            "inferenceProfileId": name,
            "status": "ACTIVE",
            "type": kind,
            "models": [{"modelArn": model_arn}],
            "createdAt": "2024-01-01T00:00:00Z",
            "updatedAt": "2024-01-01T00:00:00Z",
        }

    def set_responder(self, responder: Responder | None) -> None:
        """Answer unqueued calls with `responder(request)`; it returns a Reply, or None for the default."""
        self._responder = responder

    @property
    def requests(self) -> list[EmulatorRequest]:
        """Every request received so far, in order."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget recorded requests, queued replies, inference profiles and the responder."""
        with self._lock:
            self._requests.clear()
            self._scripts.clear()
            self._profiles.clear()
            self._responder = None

    def _record(self, request: EmulatorRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _reply_for(self, request: EmulatorRequest) -> Reply:
        with self._lock:
            for script in self._scripts:
                if script.matches(request):
                    if script.remaining is not None:
                        script.remaining -= 1
                        if script.remaining == 0:
                            self._scripts.remove(script)
                    return script.reply
        responder = self._responder
        reply = responder(request) if responder is not None else None
        if reply is not None and not isinstance(reply, Reply):
            raise TypeError(f"the responder returned {type(reply).__name__}, not a Reply or None")
        return reply or Reply()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, emulator: BedrockEmulator) -> None:
        self.emulator = emulator
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client dropping its connection (a stream closed early) is normal: no traceback on stderr."""
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)

    def close_connections(self) -> None:
        with self._open_lock:
            for sock in list(self._open):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def _completion(request: EmulatorRequest, reply: Reply, embeddings: bool = False) -> families.Completion:
    """Resolve a script into the answer: default text, stream pieces, word-count tokens unless overridden."""
    tools = [] if embeddings else list(reply.tool_calls)
    if embeddings:
        text = ""
    elif reply.text is not None:
        text = reply.text
    else:
        text = GUARDRAIL_BLOCKED_MESSAGE if reply.guardrail_intervened else default_reply(request.last_text)
    prompt_tokens = max(1, count_tokens(request.prompt))
    generated = count_tokens(text) + sum(count_tokens(t.arguments) for t in tools)
    return families.Completion(
        base_model_id=request.base_model_id or "",
        body=request.body,
        text=text,
        pieces=split_text(text, reply.chunks),
        tool_calls=tools,
        stop_reason=reply.resolved_stop_reason(),
        input_tokens=prompt_tokens if reply.input_tokens is None else reply.input_tokens,
        output_tokens=generated if reply.output_tokens is None else reply.output_tokens,
        cache_read_tokens=reply.cache_read_tokens or 0,
        cache_write_tokens=reply.cache_write_tokens or 0,
    )


def _padded(payload: dict[str, Any]) -> dict[str, Any]:
    """Add Bedrock's `p` padding field (it hides payload sizes; clients ignore it)."""
    size = len(json.dumps(payload)) % len(_PADDING) + 1
    return {**payload, "p": _PADDING[:size]}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in separate writes: no 40 ms delayed-ACK stalls
    server: _Server
    server_version = "BedrockEmulator"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)

    # --- entry points ---------------------------------------------------------------------------------

    def do_POST(self) -> None:
        self._started = time.monotonic()
        self._first_byte: float | None = None
        self._streaming = False
        self._request_id = str(uuid.uuid4())
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urlsplit(self.path).path
        try:
            self._dispatch(path, raw)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:
            if not isinstance(exc, BedrockError):  # a bug, e.g. in a test's responder: say so to the client
                logger.exception("emulator failure on %s", path)
                exc = BedrockError("InternalServerException", f"emulator error: {exc!r}")
            if self._streaming:  # too late for an HTTP error: end the connection mid-stream
                self.close_connection = True
            else:
                self._send_error(exc)

    def _unsupported(self) -> None:
        self._request_id = str(uuid.uuid4())
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send_error(
            BedrockError("ValidationException", f"Unsupported operation: {self.command} {self.path}")
        )

    do_PUT = do_DELETE = do_PATCH = _unsupported

    def do_GET(self) -> None:
        """The one control-plane call the SDK makes: GetInferenceProfile."""
        found = re.match(r"^/inference-profiles/([^/]+)$", urlsplit(self.path).path)
        if found is None:
            self._unsupported()
            return
        self._request_id = str(uuid.uuid4())
        identifier = unquote(found.group(1))
        headers = {name.lower(): value for name, value in self.headers.items()}
        emulator = self.server.emulator
        emulator._record(EmulatorRequest("GetInferenceProfile", identifier, {}, headers, self.path))
        try:
            self._send_json(emulator._inference_profile(identifier))
        except BedrockError as error:
            self._send_error(error)

    def _dispatch(self, path: str, raw: bytes) -> None:
        found, operation = next(((m, op) for regex, op in _ROUTES if (m := regex.match(path))), (None, ""))
        if found is None:
            raise BedrockError("ValidationException", f"Unsupported operation: POST {path}")
        headers = {name.lower(): value for name, value in self.headers.items()}
        model_id = unquote(found.group(1))
        request = EmulatorRequest(operation=operation, model_id=model_id, body={}, headers=headers, path=path)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self.server.emulator._record(request)
            raise BedrockError(
                "ValidationException", "Malformed input request, please reformat your input and try again."
            ) from None
        if not isinstance(body, dict):
            self.server.emulator._record(request)
            raise BedrockError(
                "ValidationException",
                "Malformed input request: #: expected type: JSONObject, "
                f"found: {type(body).__name__}, please reformat your input and try again.",
            )
        request.body = body
        fmt = None
        if operation != "ApplyGuardrail":
            request.base_model_id = self.server.emulator._base_model_id(model_id)
            fmt = families.format_for(request.base_model_id, body)
            request.family = fmt.name
        texts = families.input_texts(fmt, body) if fmt else request_texts(body)
        request.prompt, request.last_text = "\n".join(texts), texts[-1] if texts else ""
        self.server.emulator._record(request)

        reply = self.server.emulator._reply_for(request)
        if reply.latency_s:
            time.sleep(reply.latency_s)
        if reply.error and (reply.error_after_chunks is None or operation not in _STREAMING):
            raise BedrockError(reply.error, reply.error_message)
        if operation == "ApplyGuardrail":
            self._apply_guardrail(request, reply)
        elif operation.startswith("Invoke"):
            assert fmt is not None
            self._invoke(request, reply, fmt, streaming=operation in _STREAMING)
        else:
            assert fmt is not None
            self._converse(request, reply, fmt, streaming=operation in _STREAMING)

    # --- operations -----------------------------------------------------------------------------------

    def _invoke(self, request: EmulatorRequest, reply: Reply, fmt: families.Format, streaming: bool) -> None:
        families.validate(fmt, request.body)
        completion = _completion(request, reply, embeddings=fmt.operation == "embeddings")
        guardrail_action = self._guardrail_action(request, reply)
        if not streaming:
            body = fmt.response(completion)
            if guardrail_action:
                body["amazon-bedrock-guardrailAction"] = guardrail_action
            self._send_json(
                body,
                {
                    "X-Amzn-Bedrock-Invocation-Latency": str(self._elapsed_ms()),
                    "X-Amzn-Bedrock-Input-Token-Count": str(completion.input_tokens),
                    "X-Amzn-Bedrock-Output-Token-Count": str(completion.output_tokens),
                },
            )
            return
        if fmt.chunks is None:
            raise BedrockError("ValidationException", "The model is unsupported for streaming.")
        chunks = fmt.chunks(completion)

        def frames() -> Iterator[bytes]:
            for index, chunk in enumerate(chunks):
                if index == len(chunks) - 1:
                    chunk = {
                        **chunk,
                        **self._invocation_metrics(completion),
                    }
                    if guardrail_action:
                        chunk["amazon-bedrock-guardrailAction"] = guardrail_action
                encoded = base64.b64encode(json.dumps(chunk).encode()).decode()
                yield event_message("chunk", _padded({"bytes": encoded}))

        self._send_stream(frames(), reply, {"X-Amzn-Bedrock-Content-Type": "application/json"})

    def _converse(
        self, request: EmulatorRequest, reply: Reply, fmt: families.Format, streaming: bool
    ) -> None:
        if fmt.operation == "embeddings":
            raise BedrockError(
                "ValidationException",
                "This action doesn't support the model that you provided. "
                "Try again with a supported text or chat model.",
            )
        messages = request.body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BedrockError(
                "ValidationException",
                "A conversation must start with a user message. "
                "Try again with a conversation that starts with a user message.",
            )
        completion = _completion(request, reply)
        if not streaming:
            self._send_json(converse.converse_response(completion, self._elapsed_ms()))
            return

        def frames() -> Iterator[bytes]:
            for event_type, payload in converse.converse_events(completion):
                yield event_message(event_type, _padded(payload))
            metadata = converse.converse_metadata(completion, self._elapsed_ms())
            yield event_message("metadata", _padded(metadata))

        self._send_stream(frames(), reply)

    def _apply_guardrail(self, request: EmulatorRequest, reply: Reply) -> None:
        content = request.body.get("content")
        if request.body.get("source") not in ("INPUT", "OUTPUT") or not isinstance(content, list):
            raise BedrockError(
                "ValidationException", "ApplyGuardrail needs 'source' (INPUT or OUTPUT) and a 'content' list."
            )
        texts = request_texts(content)
        output = reply.text if reply.text is not None else GUARDRAIL_BLOCKED_MESSAGE
        self._send_json(converse.apply_guardrail_response(texts, reply.guardrail_intervened, output))

    # --- helpers --------------------------------------------------------------------------------------

    def _elapsed_ms(self) -> int:
        return int((time.monotonic() - self._started) * 1000)

    def _invocation_metrics(self, completion: families.Completion) -> dict[str, dict[str, int]]:
        first = self._first_byte if self._first_byte is not None else time.monotonic()
        return families.invocation_metrics(completion.input_tokens, completion.output_tokens,
                                           self._elapsed_ms(), int((first - self._started) * 1000))

    @staticmethod
    def _guardrail_action(request: EmulatorRequest, reply: Reply) -> str | None:
        if reply.guardrail_intervened:
            return "INTERVENED"
        return "NONE" if "x-amzn-bedrock-guardrailidentifier" in request.headers else None

    def _send_json(
        self, body: dict[str, Any], headers: dict[str, str] | None = None, status: int = 200
    ) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", self._request_id)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_error(self, error: BedrockError) -> None:
        headers = {"x-amzn-ErrorType": f"{error.code}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
        self._send_json({"message": error.message}, headers, status=error.status)

    def _send_stream(
        self, frames: Iterator[bytes], reply: Reply, headers: dict[str, str] | None = None
    ) -> None:
        self._streaming = True
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-amzn-RequestId", self._request_id)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        limit = reply.error_after_chunks if reply.error else None
        sent = 0
        while limit is None or sent < limit:
            if sent and reply.chunk_delay_s:
                time.sleep(reply.chunk_delay_s)
            frame = next(frames, None)
            if frame is None:
                break
            self._write_chunk(frame)
            if self._first_byte is None:
                self._first_byte = time.monotonic()
            sent += 1
        if limit is not None and reply.error:
            error = BedrockError(reply.error, reply.error_message)
            self._write_chunk(exception_message(error.stream_code, error.message))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the emulator in the foreground until interrupted (the CLI's `otel-llm emulator`)."""
    emulator = BedrockEmulator(host, port).start()
    print(f"Bedrock emulator listening on {emulator.endpoint_url} (Ctrl+C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
