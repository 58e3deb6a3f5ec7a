-- credentials_version.sql: moves on with every password change (PATCH /users/me, create-admin's
-- reset). A session carries the version it was made under, and a refresh refuses a session whose
-- version is behind the account's: a session from before a password change ends at its next
-- refresh at the latest, even when ending it at once failed (Redis down at that moment).
ALTER TABLE users ADD COLUMN credentials_version INT UNSIGNED NOT NULL DEFAULT 0;
