"""Cross-domain building blocks: errors, clock, database set-up, audit log, mail outbox."""
