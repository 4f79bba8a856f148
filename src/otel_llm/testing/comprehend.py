"""A local HTTP server speaking Amazon Comprehend's JSON 1.1 protocol for the calls the `aws` backend makes:
`BatchDetectSentiment`, `DetectSentiment`, `DetectToxicContent` (moto's server has no batch or toxicity
calls). It enforces the real input limits, scores deterministically from small word lists (a test double,
not a classifier), and can be scripted to throttle."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TARGET_PREFIX = "Comprehend_20171127."
MAX_BATCH_DOCUMENTS = 25
MAX_DOCUMENT_BYTES = 5000
SENTIMENT_CHARS_ANALYSED = 500  # real-time sentiment reads only the start of each document
MAX_TOXIC_SEGMENTS = 10
MAX_TOXIC_SEGMENT_BYTES = 1024
MAX_TOXIC_TOTAL_BYTES = 10 * 1024



def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


POSITIVE_WORDS = _words("good great excellent love wonderful happy glad helpful amazing fantastic")
NEGATIVE_WORDS = _words("bad terrible awful hate horrible sad angry useless disappointing worst")
TOXIC_WORDS = {
    "INSULT": _words("idiot stupid moron loser pathetic"),
    "HATE_SPEECH": _words("vermin subhuman"),
    "PROFANITY": _words("damn crap"),
    "VIOLENCE_OR_THREAT": _words("kill hurt destroy"),
}
TOXIC_LABELS = ("GRAPHIC", "HARASSMENT_OR_ABUSE", "HATE_SPEECH", "INSULT", "PROFANITY", "SEXUAL",
                "VIOLENCE_OR_THREAT")
_WORD = re.compile(r"[a-z']+")


class ComprehendError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.status = code, status


@dataclass
class ComprehendRequest:
    """One request the server received."""

    operation: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def sentiment_of(text: str) -> dict[str, Any]:
    """The deterministic `DetectSentiment` result of `text` (only its first 500 characters count)."""
    words = _WORD.findall(text[:SENTIMENT_CHARS_ANALYSED].lower())
    pos = sum(w in POSITIVE_WORDS for w in words)
    neg = sum(w in NEGATIVE_WORDS for w in words)
    if pos + neg == 0:
        scores = {"Positive": 0.04, "Negative": 0.04, "Neutral": 0.9, "Mixed": 0.02}
    else:
        scores = {"Positive": 0.9 * pos / (pos + neg), "Negative": 0.9 * neg / (pos + neg),
                  "Neutral": 0.08, "Mixed": 0.02}
    return {"Sentiment": max(scores, key=scores.__getitem__).upper(), "SentimentScore": scores}


def toxicity_of(text: str) -> dict[str, Any]:
    """The deterministic `DetectToxicContent` result of one segment."""
    words = set(_WORD.findall(text.lower()))
    scores = {name: 0.9 if words & TOXIC_WORDS.get(name, frozenset()) else 0.01 for name in TOXIC_LABELS}
    return {"Labels": [{"Name": name, "Score": score} for name, score in scores.items()],
            "Toxicity": max(scores.values())}


class ComprehendServer:
    """`with ComprehendServer() as server: boto3.client("comprehend", endpoint_url=server.endpoint_url)`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.requests: list[ComprehendRequest] = []
        self._lock = threading.Lock()
        self._throttles = 0
        self._throttle_code = "ThrottlingException"
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ComprehendServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="comprehend",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ComprehendServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def throttle(self, times: int = 1, code: str = "ThrottlingException") -> None:
        """Answer the next `times` requests with the throttling error `code`."""
        with self._lock:
            self._throttles, self._throttle_code = times, code

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._throttles = 0

    def client(self, region: str = "us-east-1", max_attempts: int = 1) -> Any:
        """A boto3 Comprehend client for this server, with dummy credentials."""
        import boto3
        from botocore.config import Config

        return boto3.client("comprehend", region_name=region, endpoint_url=self.endpoint_url,
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            config=Config(retries={"total_max_attempts": max_attempts, "mode": "standard"}))

    # --- protocol ----------------------------------------------------------------------------
    def handle(self, target: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        operation = target.removeprefix(TARGET_PREFIX)
        with self._lock:
            self.requests.append(ComprehendRequest(operation, body, headers))
            if self._throttles > 0:
                self._throttles -= 1
                raise ComprehendError(self._throttle_code, "Rate exceeded")
        handler = _OPERATIONS.get(operation)
        if handler is None:
            raise ComprehendError("UnknownOperationException", f"unknown operation {target!r}")
        return handler(body)


def _language(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    code = body.get("LanguageCode")
    if code not in allowed:
        raise ComprehendError("UnsupportedLanguageException", f"language {code!r} is not supported")


def _check_document(text: Any) -> str:
    if not isinstance(text, str) or not text:
        raise ComprehendError("InvalidRequestException", "Text must be a non-empty string")
    if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise ComprehendError("TextSizeLimitExceededException",
                              f"Input text size exceeds limit. Max length of request text allowed is "
                              f"{MAX_DOCUMENT_BYTES} bytes")
    return text


def _detect_sentiment(body: dict[str, Any]) -> dict[str, Any]:
    _language(body, ("en", "es", "fr", "de", "it", "pt", "ar", "hi", "ja", "ko", "zh", "zh-TW"))
    return sentiment_of(_check_document(body.get("Text")))


def _batch_detect_sentiment(body: dict[str, Any]) -> dict[str, Any]:
    _language(body, ("en", "es", "fr", "de", "it", "pt", "ar", "hi", "ja", "ko", "zh", "zh-TW"))
    texts = body.get("TextList")
    if not isinstance(texts, list) or not texts:
        raise ComprehendError("InvalidRequestException", "TextList must hold at least one document")
    if len(texts) > MAX_BATCH_DOCUMENTS:
        raise ComprehendError("BatchSizeLimitExceededException",
                              f"The number of documents exceeds the limit of {MAX_BATCH_DOCUMENTS}")
    results = [{"Index": i, **sentiment_of(_check_document(text))} for i, text in enumerate(texts)]
    return {"ResultList": results, "ErrorList": []}


def _detect_toxic_content(body: dict[str, Any]) -> dict[str, Any]:
    _language(body, ("en",))
    segments = body.get("TextSegments")
    if not isinstance(segments, list) or not segments:
        raise ComprehendError("InvalidRequestException", "TextSegments must hold at least one segment")
    if len(segments) > MAX_TOXIC_SEGMENTS:
        raise ComprehendError("InvalidRequestException",
                              f"TextSegments holds {len(segments)} segments; at most {MAX_TOXIC_SEGMENTS}")
    sizes = [len(str(segment.get("Text", "")).encode("utf-8")) for segment in segments]
    if max(sizes) > MAX_TOXIC_SEGMENT_BYTES or sum(sizes) > MAX_TOXIC_TOTAL_BYTES:
        raise ComprehendError("TextSizeLimitExceededException",
                              f"a segment exceeds {MAX_TOXIC_SEGMENT_BYTES} bytes "
                              f"or the list {MAX_TOXIC_TOTAL_BYTES}")
    return {"ResultList": [toxicity_of(str(segment.get("Text", ""))) for segment in segments]}


_OPERATIONS = {
    "DetectSentiment": _detect_sentiment,
    "BatchDetectSentiment": _batch_detect_sentiment,
    "DetectToxicContent": _detect_toxic_content,
}


def _handler_for(server: ComprehendServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go in separate writes: no 40 ms delayed-ACK stalls

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                try:
                    body = json.loads(raw or b"{}")
                except ValueError as exc:
                    raise ComprehendError("SerializationException", f"body is not JSON: {exc}") from None
                result = server.handle(self.headers.get("X-Amz-Target", ""), body, dict(self.headers))
                self._send(200, result)
            except ComprehendError as exc:
                self._send(exc.status, {"__type": exc.code, "message": str(exc)}, error_type=exc.code)

        def _send(self, status: int, payload: dict[str, Any], error_type: str | None = None) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
            if error_type:
                self.send_header("x-amzn-ErrorType", error_type)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler
