"""Ways in: the composition root, the command line, the gRPC server, metrics."""
