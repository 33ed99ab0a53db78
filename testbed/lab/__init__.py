"""A real Amanda lab: test equipment, never product code.

``builder`` turns a description of nights (``LabSpec``: DLEs, what changes,
what fails, flags per run) into a real Amanda 3.5 config under
``/etc/amanda/NAME`` with vtapes and a holding disk, run night by night under a
fake clock as user ``backup``.  After every run it keeps a snapshot (logdir,
tapelist, holding disk and ``amadmin find``), so a test can compare a reader
with Amanda's own answer at each point of the lab's life.  ``scenario`` is the
standard lab the tests and ``example-logs/`` use; ``fixture`` is its pytest
fixture; ``amfind`` parses ``amadmin CONF find``.
"""
