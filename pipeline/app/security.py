"""The app's guard: only the person who started it, from their own browser, may drive it.

A local server is reachable by every user and every web page on the machine, so each request
passes four checks (an ASGI middleware, in this order):

1. **Host** (DNS rebinding): the ``Host`` header must name the loopback address the app serves
   (``127.0.0.1``, ``localhost``, or the ``--host`` it was told); a page of another site whose
   name was made to resolve to 127.0.0.1 sends its own name and is refused (400).
2. **Token** (another local user, another page): a random token per run, in the URL the command
   prints and opens, as Jupyter does. The first request that carries it gets it back as an
   HttpOnly, SameSite=Strict cookie with a page that moves on to the same URL without it, so
   the token leaves the address bar; every later request needs the cookie (403 without).
3. **CSRF** (a form on another page posting with the cookie): every request that changes
   something (any method but GET, HEAD, OPTIONS) carries the run's CSRF token in the
   ``X-CSRF-Token`` header (htmx sends it) or a ``csrf_token`` form field (403 without), and
   an ``Origin`` header, when sent, must be the app's own (scheme, name and port).
4. **Headers on every answer**: a Content-Security-Policy that allows only the app's own
   scripts and style sheets (no inline script, no eval, nothing from another origin, no
   framing), ``nosniff``, no referrer to other sites, no caching of pages.

Every text a stranger wrote reaches a page through Jinja2's autoescaping only.
"""

from __future__ import annotations

import hmac
import html
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),  # "no-referrer" would make form posts send Origin: null
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
SIGNED_IN = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="0;url={location}"><title>followback</title></head>
<body><p><a href="{location}">signed in: go on</a></p></body></html>"""
REFUSED = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>followback: {title}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>"""


class Secrets:
    """The run's random token and CSRF token (never logged, never in a page's URL)."""

    def __init__(self, token: str | None = None, csrf: str | None = None) -> None:
        self.token = token or secrets.token_urlsafe(32)
        self.csrf = csrf or secrets.token_urlsafe(32)


def _same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


def host_name(value: str) -> str:
    """The name of a ``Host`` header (port dropped; an IPv6 literal keeps its brackets)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[: value.find("]") + 1] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Guard:
    """ASGI middleware doing the four checks above around ``app``."""

    def __init__(self, app, keys: Secrets, port: int, hosts: tuple[str, ...] = LOOPBACK_NAMES,
                 on_sign_in=None) -> None:
        self.app = app
        self.on_sign_in = on_sign_in  # called after each sign-in with the token
        self.keys = keys
        self.port = port
        self.hosts = {h.lower() for h in hosts}
        self.cookie = f"followback-token-{port}"

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in HEADERS if k not in names]
            await send(message)

        if host_name(headers.get("host", "")) not in self.hosts:
            await self._refuse(send_with_headers, 400, "wrong Host header",
                               "This app answers only to the loopback address it serves.")
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if "token" in query:
            if not _same(query["token"], self.keys.token):
                await self._refuse(send_with_headers, 403, "wrong token",
                                   "Open the link that <code>followback app</code> printed.")
                return
            rest = urlencode([(k, v) for k, v in query.items() if k != "token"])
            location = html.escape(quote(scope.get("path", "/")) + (f"?{rest}" if rest else ""))
            cookie = (f"{self.cookie}={self.keys.token}; Path=/; HttpOnly; SameSite=Strict")
            # Not a 303: a redirect would still belong to the navigation that brought the
            # token (from the terminal, or the file the browser was opened on: cross-site), in
            # which a SameSite=Strict cookie is not sent. A page of the app's own moving on
            # starts a same-site navigation, which carries it.
            body = SIGNED_IN.format(location=location).encode()
            if self.on_sign_in is not None:
                self.on_sign_in()
            await send_with_headers({"type": "http.response.start", "status": 200,
                                     "headers": [(b"content-type", b"text/html; charset=utf-8"),
                                                 (b"set-cookie", cookie.encode("latin-1")),
                                                 (b"content-length", str(len(body)).encode())]})
            await send_with_headers({"type": "http.response.body", "body": body})
            return
        jar = SimpleCookie()
        try:
            jar.load(headers.get("cookie", ""))
        except Exception:  # noqa: BLE001 - a malformed cookie header is no token
            jar = SimpleCookie()
        given = jar[self.cookie].value if self.cookie in jar else None
        if not _same(given, self.keys.token):
            await self._refuse(send_with_headers, 403, "not signed in",
                               "Open the link that <code>followback app</code> printed in "
                               "the terminal (it holds this run's token).")
            return
        if scope["method"] not in SAFE_METHODS:
            origin = headers.get("origin")
            if origin is not None and not self._own_origin(origin):
                await self._refuse(send_with_headers, 403, "wrong Origin",
                                   "A page of another site may not change anything here.")
                return
            receive, ok = await self._csrf_ok(headers, receive)
            if not ok:
                await self._refuse(send_with_headers, 403, "missing CSRF token",
                                   "Reload the page and try again.")
                return
        await self.app(scope, receive, send_with_headers)

    def _own_origin(self, origin: str) -> bool:
        """Whether an ``Origin`` header names this app: http, a served name, this port (a
        page on another port of 127.0.0.1 is another origin, though the same site)."""
        try:
            parts = urlsplit(origin)
            port = parts.port
        except ValueError:
            return False
        return (parts.scheme == "http" and port == self.port
                and host_name(parts.netloc) in self.hosts)

    async def _csrf_ok(self, headers: dict[str, str], receive):
        """Whether the request carries the CSRF token (header, else form field); the body,
        when read for the field, is handed on to the app unchanged."""
        if _same(headers.get(CSRF_HEADER), self.keys.csrf):
            return receive, True
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return receive, False
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return receive, False
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > 1 << 20:
                return receive, False
        field = dict(parse_qsl(body.decode("utf-8", "replace"))).get(CSRF_FIELD)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay, _same(field, self.keys.csrf)

    async def _refuse(self, send, status: int, title: str, text: str) -> None:
        body = REFUSED.format(title=title, text=text).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/html; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
