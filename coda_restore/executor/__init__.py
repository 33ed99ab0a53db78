"""Running a plan: fetch, verify, merge, restore.

The algorithm, for a plan whose chain is FULL, INCR1 .. INCRn::

    preflight: tools, Amanda config, tapes in the changer, workdir and
               staging space, the target volume name is free (getvolumelist);
               the exact commands
    (--dry-run stops here and changes nothing)
    lock the volume's workdir; open the journal (keyed by the plan hash)
    for each incremental, in tape-read order:
        if the journal has it and the spooled file still has its sha256: skip
        amfetchdump -a -p --exact-match ... > spool file  (sha256 on the way)
        check the Amanda header names the dump asked for
        validate the whole Coda image; journal it
    amfetchdump the full dump into a pipe, never to local disk
    merge(full pipe, spooled incrementals) -> STAGING/NAME.dump, a regular file
        the merge reads every Coda header and checks every link before it
        writes a byte
    look the ACL names of the image up in the protection DB (pdbtool; a warning)
    volutil restore -f STAGING/NAME.dump PARTITION NAME   (stdin /dev/null)
    volutil dump NEWID, read as it streams, compared with the staged image:
        vnodes, names, bytes by sha256, ACLs as sets, counts (exit 6 if not)
    wait for every child and check its status; remove the staged image

Why a regular file and the dump back: see ``executor.restore``.

What it does not promise: a run that fails after volutil started may leave a
half-created (or, when the verify fails, a wrong) volume on the server; the
error says which and how to purge it.  The level 0 is streamed, so a
failure during the merge means fetching it again (its tape is read once per
attempt); incrementals are never read twice once journalled.
"""
