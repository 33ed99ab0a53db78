"""``python -m coda_restore.amcoda``: what the installed wrapper runs."""

from coda_restore.amcoda import run

run()
