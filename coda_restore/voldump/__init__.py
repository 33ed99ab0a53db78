"""The Coda dump codec (ref/coda-dump-format.md), one idea per module:

* ``records``  the records of a ``voldump`` stream (frozen dataclasses, enums);
* ``stream``   forward-only buffered input, ``read_exact``;
* ``reader``   ``DumpReader``: streaming, bounded memory, pipes welcome;
* ``writer``   ``DumpWriter``: byte-exact serialisation;
* ``validate`` the rules of ref §8, §17, §19, per record and per dump;
* ``merge``    a full dump and N incrementals in one pass, as codamergedump
               applied in turn would write it, every link checked;
* ``files``    ``-`` for stdin/stdout, atomic output files;
* ``dirpage``, ``tree``, ``extract``: directory pages, the path tree, files out.

Nothing here knows Amanda or the CLI.
"""
