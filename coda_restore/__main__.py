from coda_restore.cli import main

main()
