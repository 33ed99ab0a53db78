"""coda-restore: plan and run restores of Coda volumes from Amanda backups."""

__version__ = "0.1.0"
