#!/usr/bin/env bash
# Regenerates Onnx.g.cs (internal classes in CellGen.OnnxSchema) from onnx.proto, ONNX 1.12's schema as Debian's
# python3-onnx ships it (/usr/lib/python3/dist-packages/onnx/onnx.proto; Apache-2.0, the ONNX Project Contributors),
# with protoc from the Google.Protobuf.Tools package (restored into ~/.nuget/packages by any project referencing it).
set -euo pipefail
cd "$(dirname "$0")"
tools=$(ls -d ~/.nuget/packages/google.protobuf.tools/3.36.2/tools)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The C# namespace is the one line added to the schema.
sed 's/^package onnx;/package onnx;\noption csharp_namespace = "CellGen.OnnxSchema";/' onnx.proto > "$work/onnx.proto"
"$tools/linux_x64/protoc" --proto_path="$work" --proto_path="$tools" --csharp_out=. --csharp_opt=internal_access,file_extension=.g.cs "$work/onnx.proto"
