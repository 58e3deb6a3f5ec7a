-- outbox_supersede.sql: a review change replaces its product's pending rating call (reviews.c,
-- repo.c sql_supersede: DELETE ... WHERE status = 'pending' AND kind = 'call' AND target = ?).
-- Without this index the DELETE read, and locked, every pending row: while the relay held one
-- product's call locked (up to its 5 s timeout, a product service that hangs), every review
-- change of every other product waited for it. With it, only that product's rows are touched.
ALTER TABLE outbox ADD KEY outbox_supersede (status, kind, target);
