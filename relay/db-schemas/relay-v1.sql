-- screenrelay relay database, schema version 1 (a fresh database).
--
-- relay/database.py runs this file in one transaction on a new database,
-- then inserts the version row. A later schema N comes as two files: a fresh
-- relay-vN.sql and upgrade-relay-to-vN.sql, and tests/test_database.py checks
-- that upgrading gives the same schema as creating.
--
-- Planned: a `policy` table arrives with schema version 2 (its issue is to
-- come); nothing here depends on it.

-- Exactly one row: the schema version of this file.
CREATE TABLE version
(
 version INTEGER
);

-- Organizer and admin accounts. Session participants have no account.
CREATE TABLE accounts
(
 id INTEGER PRIMARY KEY,
 -- NOCASE folds ASCII letters only: "Alice" and "alice" are one account.
 name TEXT UNIQUE NOT NULL COLLATE NOCASE,
 role TEXT NOT NULL CHECK(role IN ('organizer','admin')),
 password_hash TEXT NOT NULL, -- argon2id, PHC string format
 disabled INTEGER NOT NULL DEFAULT 0, -- 0 or 1
 created_at REAL NOT NULL -- seconds since the epoch
);

-- Audit trail of metadata (never content, never secrets). Append-only: the
-- triggers below refuse UPDATE and DELETE, and each row's hash covers the
-- previous row's hash, so rows edited, inserted or deleted by someone who
-- dropped the triggers show up in SqliteStore.verify_audit().
-- AUTOINCREMENT keeps the highest id ever used in sqlite_sequence, so an id is
-- never reused and rows deleted from the end leave a trace.
CREATE TABLE audit
(
 id INTEGER PRIMARY KEY AUTOINCREMENT,
 at REAL NOT NULL, -- seconds since the epoch
 actor TEXT, -- account name, or NULL for a participant or the relay
 address TEXT, -- the client's network address, if any
 action TEXT NOT NULL,
 session_id INTEGER,
 detail TEXT NOT NULL /* JSON object of metadata */,
 prev_hash TEXT NOT NULL, -- previous row's hash; 64 zeros for the first row
 hash TEXT NOT NULL -- SHA-256 hex, see relay/store.py
);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
 SELECT RAISE(ABORT, 'audit is append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
 SELECT RAISE(ABORT, 'audit is append-only');
END;
