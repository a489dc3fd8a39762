"""The webhook receiver for the fan-out benchmark: a bare ASGI app on loopback that reads the
body and answers 204 (what a well-behaved receiver does before its own processing)."""


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 204, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
