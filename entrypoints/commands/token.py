"""``tradeplane token``: a new gRPC bearer token and the config lines that grant it a role.

The token is printed once and never stored; the configuration keeps only its SHA-256.
"""

from __future__ import annotations

import argparse
import re
import sys

from entrypoints.grpc.auth import Role, hash_token, new_token

_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``token`` on the ``tradeplane`` command line."""
    parser = commands.add_parser("token", help="create a gRPC bearer token and its [[grpc.tokens]] entry")
    parser.add_argument("--name", required=True, help="who holds it (shown in logs and errors)")
    roles = [r.name.lower() for r in Role]
    parser.add_argument("--role", required=True, choices=roles, help="what it may do")
    parser.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    if not _NAME.fullmatch(args.name):
        print("tradeplane: --name must be 1-64 letters, digits or _.@-", file=sys.stderr)
        return 2
    token = new_token()
    print(f"token (shown once; give it to {args.name}): {token}")
    print("add to the [grpc] part of your configuration:")
    print()
    print("[[grpc.tokens]]")
    print(f'name = "{args.name}"')
    print(f'role = "{args.role}"')
    print(f'sha256 = "{hash_token(token)}"')
    return 0
