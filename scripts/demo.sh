#!/usr/bin/env bash
# The main job on this machine's CPU: export X3D-XS, convert it, benchmark it with PyTorch eager,
# ONNX Runtime and OpenVINO (fp32 and fp16) at 2 threads, and write reports/latest.md.
# Sets up .venv on first use. Extra arguments go to `edgevid bench` (e.g. a model name).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
edgevid=".venv/bin/edgevid"
model="${EDGEVID_DEMO_MODEL:-x3d-xs}"

set -x
"$edgevid" models
"$edgevid" devices
"$edgevid" export "$model" --to onnx
"$edgevid" export "$model" --to openvino --precision fp16
"$edgevid" bench "$model" --device desktop-cpu "$@"
"$edgevid" report results/ --md reports/latest.md
set +x
echo "report: $root/reports/latest.md"
