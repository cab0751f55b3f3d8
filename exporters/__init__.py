"""Exporters: one module per target format, each with the same parts.

``SOURCE`` says what it converts from ("torch" or another format), ``OPTIONS`` the export options
it accepts (``exporters.options.Option``; ``--export-opt key=value`` and a profile entry's
``export:`` mapping are checked against it), ``versions()`` the converter versions it records,
and ``export(job) -> ExportedFiles`` writes the model file into
``job.out_dir``. Caching, the manifest and the reference output are shared and live in
``edgevid.artifacts.export``; an exporter only converts.
"""
