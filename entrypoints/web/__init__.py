"""The REST/JSON gateway: HTTP routes in front of the gRPC control plane, for browsers and curl.

``gateway.build_app`` is the FastAPI app, ``routes`` its routes, ``transcode`` the JSON ⇄
protobuf and status mapping, and ``serve.start_gateway`` runs it inside the engine's loop.
"""
