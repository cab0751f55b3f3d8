"""What a user reads off Xcode's Core ML performance report (Xcode 14+: open the .mlpackage,
Performance tab, "+", pick the connected iPhone and compute units, Run Test), typed into a small
JSON file that ``edgevid import`` reads::

    {"tool": "xcode", "device_name": "iPhone 15 Pro", "os_version": "iOS 17.5",
     "compute_units": "all", "prediction_median_ms": 3.1, "load_median_ms": 41.0,
     "compilation_median_ms": 120.0}

The report shows medians only: the record's summary carries p50 and nothing else.
"""

from __future__ import annotations

import json

from edgevid.tools import summary

NAME = "xcode"
FORMAT = "coreml"
STEPS = """# Measuring {model} on an iPhone with Xcode

1. Connect the iPhone (Developer Mode on) to a Mac with Xcode 14 or later.
2. Copy `{artifact}` to the Mac and open `model.mlpackage` in Xcode.
3. Performance tab -> "+" -> choose the iPhone and the compute units ({units}) -> Run Test.
4. Write what the report shows into `iphone-report.json`:

       {{"tool": "xcode", "device_name": "...", "os_version": "iOS ...",
        "compute_units": "{units}", "prediction_median_ms": ..., "load_median_ms": ...,
        "compilation_median_ms": ...}}

5. Import it: `edgevid import iphone-report.json --model {model} --device {device}
   --precision {precision}`
"""


def detect(text: str) -> bool:
    return '"prediction_median_ms"' in text


def parse(text: str) -> dict:
    return json.loads(text)


def fields(parsed: dict) -> dict:
    return {
        "summary": summary(n=None, p50=parsed.get("prediction_median_ms")),
        "load_ms": parsed.get("load_median_ms"),
        "compile_ms": parsed.get("compilation_median_ms"),
        "runtime_settings": {"compute_units": parsed.get("compute_units")},
        "env_extra": {
            "device_name": parsed.get("device_name"),
            "os_version": parsed.get("os_version"),
        },
    }
