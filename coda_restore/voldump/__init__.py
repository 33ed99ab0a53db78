"""The Coda dump codec (ref/coda-dump-format.md), one idea per module:

* ``records``  the records of a ``voldump`` stream (frozen dataclasses, enums);
* ``stream``   forward-only buffered input, ``read_exact``;
* ``reader``   ``DumpReader``: streaming, bounded memory, pipes welcome;
* ``writer``   ``DumpWriter``: byte-exact serialisation;
* ``validate`` the rules of ref §8, §17, §19, per record and per dump;
* ``merge``    a full dump and N incrementals in one pass, as codamergedump
               applied in turn would write it, every link checked
               (``merged_reader``: the same, streamed through a pipe);
* ``files``    ``-`` for stdin/stdout, atomic output files;
* ``dirpage``, ``tree``: directory pages, the path tree;
* ``extract``  files out of a full dump or a chain, into a ``sinks`` sink
               (a directory, a tar stream, a listing);
* ``contents`` what a dump holds, to compare a restore with what was sent.

Nothing here knows Amanda or the CLI, and no option is named here: the
codec says what is wrong; the command (or the message in ``errors.py``,
when several commands meet it) says which option it concerns.
"""
