"""Device-side runners: load an artifact, check its numerics, time it, write a result record.

This package imports numpy and the one runtime a backend needs -- never torch (except the
host-only ``pytorch`` reference runner) and never other edgevid modules -- so a device gets it by
``pip install numpy <runtime>`` and a copy of this folder, and runs ``python -m runners ARTIFACT``.

Every backend module has the same parts: ``NAME``, ``version()``, and ``load(artifact_dir,
manifest, options) -> Session`` where ``Session.infer(inputs) -> list[np.ndarray]`` and
``Session.settings`` holds the settings actually in force, read back from the runtime.
"""

from .telemetry import off as _telemetry_off

_telemetry_off()  # before any runtime is imported: see telemetry.py
