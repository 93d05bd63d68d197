"""The gRPC control plane: services of ``tradeplane.v1`` over the running engine.

``server.GrpcServer`` wires them with auth, health and reflection; ``mapping`` is the one
place where domain values become protobuf messages and requests become domain values.
"""
