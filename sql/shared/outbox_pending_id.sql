-- outbox_pending_id.sql: the relay's due rows in id order straight from an index (lib/outbox.c
-- sql_due names it). Without it, once the table held many delivered rows (they are kept 7 days)
-- MariaDB read the due rows by walking the primary key from the oldest row: a million rows a
-- round, two seconds, while the backlog grew.
ALTER TABLE outbox ADD KEY outbox_pending_id (status, id);
