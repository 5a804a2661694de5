"""The web service's guards: security headers and Content-Security-Policy on every response,
cross-origin requests and ambiguous framing refused, and the Host names it answers to.

Any web page the user has open can send the service requests; these guards keep such a page from
using it (cross-site requests, DNS rebinding, request smuggling), with neither cookies nor tokens.
"""

from __future__ import annotations

import base64
import hashlib
import re
import socket
from typing import Sequence

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maskprivacy.analysis.uploads import CLOSE

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# The longest error message sent: every 4xx and 5xx body stays far below 4 KB whatever was sent.
MAX_DETAIL = 500
# Everything but the page and /docs: nothing may load, nothing may frame it.
CSP_NONE = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# FastAPI's Swagger UI page (only with docs=True) loads its script and style from this CDN.
DOCS_CDN = "https://cdn.jsdelivr.net"
CSP_DOCS = (
    f"default-src 'none'; script-src {DOCS_CDN} 'unsafe-inline'; style-src {DOCS_CDN}; "
    "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def allowed_hosts_for(bind: str, extra: Sequence[str] = ()) -> list[str]:
    """Host header values the server answers to, from the address it binds (DNS-rebinding defence).

    A loopback bind answers only to loopback names; a wildcard bind (0.0.0.0, ::) also to this
    machine's host name and its addresses; a specific address to itself. ``extra`` adds names (a
    reverse proxy's, a LAN name); ``*`` turns the check off.
    """
    hosts: list[str] = list(LOOPBACK)
    if bind not in LOOPBACK:
        if bind in ("0.0.0.0", "::", ""):
            name = socket.gethostname()
            hosts += [name, socket.getfqdn()]
            try:
                hosts += socket.gethostbyname_ex(name)[2]
            except OSError:
                pass
        else:
            hosts.append(f"[{bind}]" if ":" in bind else bind)
    hosts += list(extra)
    return list(dict.fromkeys(h.lower() for h in hosts if h))


def _csp_hash(page: str, tag: str) -> str:
    """'sha256-...' of the page's inline <tag> (CSP allows exactly that script or style)."""
    m = re.search(rf"<{tag}>(.*?)</{tag}>", page, re.S)
    if not m:
        return "'none'"
    return "'sha256-" + base64.b64encode(hashlib.sha256(m.group(1).encode("utf-8")).digest()).decode() + "'"


def page_csp(page: str) -> str:
    """The page's policy: its own inline script and style, its API, and its images (data: crops, blob: preview)."""
    return (
        f"default-src 'none'; script-src {_csp_hash(page, 'script')}; style-src {_csp_hash(page, 'style')}; "
        "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'"
    )


class Guard:
    """ASGI middleware: security headers on every response; cross-origin requests refused (403).

    Browsers send ``Origin`` on every cross-origin POST (and on same-origin ones); a page on another
    site can therefore be told apart from our own page without cookies or tokens. Requests without
    ``Origin`` (curl, scripts) are not from a web page and pass. A body whose length is ambiguous
    (``Content-Length`` with ``Transfer-Encoding``, or two lengths) is refused before the app sees it:
    a proxy in front could read its end elsewhere than the server does.
    """

    def __init__(self, app: ASGIApp, csp: dict[str, str]):
        self.app = app
        self.csp = csp  # path -> policy; others get CSP_NONE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self.csp.get(scope.get("path", ""), CSP_NONE)

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                h = MutableHeaders(scope=message)
                for k, v in SECURITY_HEADERS.items():
                    h[k] = v
                h["Content-Security-Policy"] = policy
            await send(message)

        headers = Headers(scope=scope)
        lengths = set(headers.getlist("content-length"))
        if len(lengths) > 1 or (lengths and "transfer-encoding" in headers):
            await JSONResponse(
                {"detail": "ambiguous framing refused: a body has one length, given once, or Transfer-Encoding"},
                400,
                headers=CLOSE,
            )(scope, receive, send_secured)
            return
        origin = headers.get("origin")
        if origin is not None:
            own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()
            if origin.lower().rstrip("/") != own:
                await JSONResponse(
                    {"detail": f"cross-origin request refused: Origin {origin[:100]!r} is not this server ({own})"}, 403
                )(scope, receive, send_secured)
                return
        await self.app(scope, receive, send_secured)
