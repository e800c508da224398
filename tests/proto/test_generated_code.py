"""The committed generated code is what proto/generate.py makes from proto/*.proto."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_nsgw_proto_is_not_stale() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "proto" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_modules_import_without_the_compiler() -> None:
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.startswith('grpc_tools'): raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from nsgw_proto.nsi import connection_provider_pb2_grpc, connection_requester_pb2_grpc\n"
        "print(connection_provider_pb2_grpc.ConnectionProviderStub.__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd="/"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ConnectionProviderStub"
