"""The committed tradeplane.v1 stubs are exactly what `make proto` generates from the protos."""

from __future__ import annotations

import importlib
from pathlib import Path

from entrypoints.protogen import PROTO_ROOT, generate

GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def _generated(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.glob("tradeplane/**/*"))
        if path.name.endswith(GENERATED_SUFFIXES)
    }


def test_regenerating_the_stubs_changes_nothing(tmp_path: Path) -> None:
    sources = generate(PROTO_ROOT, out=tmp_path)
    assert sources, "no .proto files found"
    fresh, committed = _generated(tmp_path), _generated(PROTO_ROOT)
    assert sorted(fresh) == sorted(committed), "stub files differ: run `make proto` and commit"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale stubs {stale}: run `make proto` and commit the result"


def test_every_proto_has_its_stubs_and_they_import() -> None:
    for proto in sorted(PROTO_ROOT.glob("tradeplane/v1/*.proto")):
        module = importlib.import_module(f"tradeplane.v1.{proto.stem}_pb2")
        assert module.DESCRIPTOR.package == "tradeplane.v1"
        importlib.import_module(f"tradeplane.v1.{proto.stem}_pb2_grpc")


def test_the_api_follows_the_proto_style_rules() -> None:
    """Enums start at *_UNSPECIFIED = 0 with prefixed values; RPCs take <Rpc>Request, return <Rpc>Response."""
    for proto in sorted(PROTO_ROOT.glob("tradeplane/v1/*.proto")):
        module = importlib.import_module(f"tradeplane.v1.{proto.stem}_pb2")
        for enum in module.DESCRIPTOR.enum_types_by_name.values():
            prefix = "".join(f"_{c}" if c.isupper() else c.upper() for c in enum.name).lstrip("_")
            assert enum.values_by_number[0].name == f"{prefix}_UNSPECIFIED", enum.name
            assert all(value.name.startswith(prefix + "_") for value in enum.values), enum.name
        for service in module.DESCRIPTOR.services_by_name.values():
            assert service.name.endswith("Service")
            for method in service.methods:
                assert method.input_type.name == f"{method.name}Request", method.full_name
                assert method.output_type.name == f"{method.name}Response", method.full_name
