"""Outbound HTTP without SSRF: URLs the service calls on a user's behalf (webhook
endpoints, callback URLs) may not reach loopback, link-local or private networks.

Checked twice: when the URL is registered (a clear 422) and at connection
time, where the client resolves the name itself and connects only to an
address that passed the check, so a DNS answer cannot change between the two
(DNS rebinding). The connection-time check uses public extension points only:
httpx's custom transport API over an `httpcore.ConnectionPool` whose
`network_backend` is a subclass of the exported `httpcore.SyncBackend`. An
admin allow-list (`security.webhooks.allowed_hosts`: host names, IPs or CIDR
ranges) opens specific internal targets.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from memoai.config import Settings
from memoai.platform.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(ValueError):
    pass


class AllowList:
    def __init__(self, entries: Iterable[str]) -> None:
        self.hosts: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in entries:
            entry = entry.strip().lower()
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry)

    def allows(self, host: str, address: IPAddress) -> bool:
        return host.lower() in self.hosts or any(address in net for net in self.networks)


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv4Address) and address in _SHARED)
    )


_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, not public


def parse(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("the URL must start with http:// or https://")
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeUrl("credentials in the URL are not allowed")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl("the URL has an invalid port") from exc
    return parts.scheme, parts.hostname, port


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeUrl(f"the host {host!r} cannot be resolved") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def allowed_addresses(host: str, port: int, allow: AllowList) -> list[IPAddress]:
    addresses = resolve(host, port)
    good = [a for a in addresses if is_public(a) or allow.allows(host, a)]
    if not good or len(good) < len(addresses):
        # Any internal answer is refused: mixing public and private records is a
        # classic way around a check that takes the first address.
        raise UnsafeUrl(
            f"{host} resolves to a loopback, link-local or private address; an administrator "
            "must add it to security.webhooks.allowed_hosts"
        )
    return good


def check_url(url: str, allow: AllowList) -> None:
    _scheme, host, port = parse(url)
    allowed_addresses(host, port, allow)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads and writes share one deadline for the whole exchange.

    httpx's timeouts apply to each network operation, so a receiver that drips
    a byte at a time (headers or body) restarts the clock with every byte and
    can hold a worker for ever. Here each operation gets at most the time left.
    """

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def _left(self, timeout: float | None, error: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise error("the time limit for the whole exchange was reached")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(
            ssl_context, server_hostname, self._left(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.SyncBackend):
    """httpcore's public network backend, connecting only to checked addresses.

    The name is resolved and checked here, at connection time, and the socket
    is opened to that checked IP: no second lookup happens in between that a
    DNS answer could change (rebinding). TLS is unaffected: httpcore still
    sends the URL's host name as SNI and verifies the certificate against it.
    """

    def __init__(self, allow: AllowList, deadline: float | None = None) -> None:
        self.allow = allow
        self.deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = allowed_addresses(host, port, self.allow)
        except UnsafeUrl as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        if self.deadline is None:
            return super().connect_tcp(
                str(addresses[0]), port, timeout, local_address, socket_options
            )
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ConnectTimeout("the time limit for the whole exchange was reached")
        stream = super().connect_tcp(
            str(addresses[0]),
            port,
            left if timeout is None else min(timeout, left),
            local_address,
            socket_options,
        )
        return _DeadlineStream(stream, self.deadline)


# httpcore's exceptions as httpx raises them, most specific first.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.ProxyError, httpx.ProxyError),
)


@contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for source, target in _ERRORS:
            if isinstance(exc, source):
                raise target(str(exc), request=request) from exc
        raise


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes], request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors(self._request):
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class PinnedTransport(httpx.BaseTransport):
    """An httpx transport (the public custom-transport API) over an httpcore pool
    whose network backend is `_PinnedBackend` (httpcore's public extension point)."""

    def __init__(
        self,
        allow: AllowList,
        verify: ssl.SSLContext | bool = True,
        deadline: float | None = None,
    ) -> None:
        context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify)
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=20,
            retries=0,
            network_backend=_PinnedBackend(allow, deadline),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,  # carries the client's timeouts
        )
        with _as_httpx_errors(request):
            response = self._pool.handle_request(core_request)
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream, request),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def safe_client(
    allow: AllowList,
    timeout: float,
    total_timeout: float | None = None,
    verify: ssl.SSLContext | bool = True,
) -> httpx.Client:
    """A client that reaches only checked addresses.

    With `total_timeout`, everything the client does from its creation on
    (connect, TLS, request, headers, body) must end within that many seconds:
    use one such client per exchange.
    """
    deadline = None if total_timeout is None else time.monotonic() + total_timeout
    return httpx.Client(
        transport=PinnedTransport(allow, verify, deadline),
        timeout=timeout,
        follow_redirects=False,
    )


def allow_list(settings: Settings) -> AllowList:
    return AllowList(settings.security.webhooks.allowed_hosts)


def validate_url(settings: Settings, url: str, field: str) -> str:
    """The URL, or a 422 naming the field: used wherever a caller hands us a URL to call."""
    try:
        check_url(url, allow_list(settings))
    except UnsafeUrl as exc:
        raise ValidationFailed(f"Refused webhook URL: {exc}.", field=field) from exc
    return url
