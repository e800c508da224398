"""Generate the Python modules for the .proto files in this directory.

The generated code is committed under ``nsgw_proto/`` so that a plain
``pip install .`` needs no protobuf compiler.  ``make proto`` runs this
script; ``python proto/generate.py --check`` exits non-zero when the committed
code is stale (the test suite runs that check).

protoc names the generated imports after the include path (``nsi/...`` ->
``from nsi import ...``); the modules live in the ``nsgw_proto`` package, so
those imports are rewritten to ``nsgw_proto.nsi``.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import sys
import tempfile
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parent
REPO_ROOT = PROTO_DIR.parent
PACKAGE = "nsgw_proto"
OUTPUT_DIR = REPO_ROOT / PACKAGE

_HEADER = "# Generated from proto/ by proto/generate.py. Do not edit.\n"
_IMPORT_RE = re.compile(r"^(from|import) (nsi|nsgw)(\.| )", re.MULTILINE)
# mypy-protobuf also refers to sibling modules by their dotted name in annotations.
_DOTTED_RE = re.compile(r"(?<![\w.])(nsi|nsgw)\.(?=(?:\w+\.)*\w+_pb2)")


def _proto_files() -> list[Path]:
    return sorted(p for p in PROTO_DIR.rglob("*.proto"))


def _rewrite(text: str) -> str:
    text = _IMPORT_RE.sub(lambda m: f"{m.group(1)} {PACKAGE}.{m.group(2)}{m.group(3)}", text)
    return _DOTTED_RE.sub(lambda m: f"{PACKAGE}.{m.group(1)}.", text)


def generate(out: Path) -> None:
    """Run protoc over every .proto file into ``out`` (a fresh package tree)."""
    from grpc_tools import protoc  # noqa: PLC0415 (a developer tool, not needed at run time)

    mypy_plugin = shutil.which("protoc-gen-mypy", path=str(Path(sys.executable).parent))
    mypy_grpc_plugin = shutil.which("protoc-gen-mypy_grpc", path=str(Path(sys.executable).parent))
    if not mypy_plugin or not mypy_grpc_plugin:
        raise SystemExit("mypy-protobuf is not installed: pip install -e '.[dev]'")
    with tempfile.TemporaryDirectory() as raw_dir:
        raw = Path(raw_dir)
        include = Path(protoc.__file__).parent / "_proto"
        # google/rpc/*.proto (Status, ErrorInfo...) ship with googleapis-common-protos,
        # a dependency of grpcio-status; their Python modules come from there at run time.
        import google.rpc  # noqa: PLC0415

        googleapis = Path(next(iter(google.rpc.__path__))).parent.parent
        args = [
            "grpc_tools.protoc",
            f"-I{PROTO_DIR}",
            f"-I{include}",
            f"-I{googleapis}",
            f"--plugin=protoc-gen-mypy={mypy_plugin}",
            f"--plugin=protoc-gen-mypy_grpc={mypy_grpc_plugin}",
            f"--python_out={raw}",
            f"--grpc_python_out={raw}",
            f"--mypy_out={raw}",
            f"--mypy_grpc_out={raw}",
            *(str(p.relative_to(PROTO_DIR)) for p in _proto_files()),
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        out.mkdir(parents=True, exist_ok=True)
        (out / "__init__.py").write_text(
            _HEADER + '"""Python code generated from the .proto files in proto/."""\n'
        )
        (out / "py.typed").write_text("")
        for src in sorted(raw.rglob("*")):
            if src.is_dir():
                continue
            dest = out / src.relative_to(raw)
            dest.parent.mkdir(parents=True, exist_ok=True)
            for pkg_dir in dest.relative_to(out).parents:
                init = out / pkg_dir / "__init__.py"
                if pkg_dir != Path(".") and not init.exists():
                    init.write_text(_HEADER)
            dest.write_text(_HEADER + _rewrite(src.read_text()))


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if nsgw_proto/ is stale")
    args = parser.parse_args()
    if not args.check:
        if OUTPUT_DIR.exists():
            shutil.rmtree(OUTPUT_DIR)
        generate(OUTPUT_DIR)
        print(f"generated {len(_tree(OUTPUT_DIR))} files in {OUTPUT_DIR.relative_to(REPO_ROOT)}/")
        return 0
    with tempfile.TemporaryDirectory() as fresh_dir:
        fresh = Path(fresh_dir) / PACKAGE
        generate(fresh)
        want, have = _tree(fresh), _tree(OUTPUT_DIR)
        if want == have:
            return 0
        for name in sorted(set(want) | set(have)):
            if want.get(name) != have.get(name):
                diff = difflib.unified_diff(
                    have.get(name, "").splitlines(),
                    want.get(name, "").splitlines(),
                    f"committed/{name}",
                    f"generated/{name}",
                    lineterm="",
                )
                print("\n".join(list(diff)[:40]))
        print("nsgw_proto/ is stale: run `make proto` and commit the result", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
