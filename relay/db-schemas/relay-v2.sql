-- screenrelay relay database, schema version 2 (a fresh database).
--
-- relay/database.py runs this file in one transaction on a new database,
-- then inserts the version row. A later schema N comes as two files: a fresh
-- relay-vN.sql and upgrade-relay-to-vN.sql, and tests/test_database.py checks
-- that upgrading gives the same schema as creating.
--
-- Version 2 added accounts.email, accounts.groups, the 'member' role (people
-- who sign in to join sessions where policy asks for it) and the policy table.

-- Exactly one row: the schema version of this file.
CREATE TABLE version
(
 version INTEGER
);

-- Accounts: organizers start sessions, admins administer, members only sign
-- in to join where policy requires an account. Participants who join by
-- password alone have no account.
CREATE TABLE accounts
(
 id INTEGER PRIMARY KEY,
 -- NOCASE folds ASCII letters only: "Alice" and "alice" are one account.
 name TEXT UNIQUE NOT NULL COLLATE NOCASE,
 role TEXT NOT NULL CHECK(role IN ('organizer','admin','member')),
 password_hash TEXT NOT NULL, -- argon2id, PHC string format
 disabled INTEGER NOT NULL DEFAULT 0, -- 0 or 1
 created_at REAL NOT NULL, -- seconds since the epoch
 -- The account's groups: a JSON array of names (policy allowlists may name
 -- them), as relay/accounts.py parse_groups checks them.
 groups TEXT NOT NULL DEFAULT '[]' CHECK(json_valid(groups) AND json_type(groups) = 'array'),
 email TEXT -- optional; join allowlists may name its domain
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

-- Rows may be deleted only through a recorded prune (SqliteStore.prune_audit):
-- the newest 'audit_pruned' row names the last row it removes (through_id),
-- and only rows up to it may go. Its hash chain starts again there.
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
WHEN OLD.id > coalesce((SELECT json_extract(detail, '$.through_id') FROM audit
                        WHERE action = 'audit_pruned' ORDER BY id DESC LIMIT 1), 0)
BEGIN
 SELECT RAISE(ABORT, 'audit is append-only');
END;

CREATE INDEX audit_prunes ON audit (id) WHERE action = 'audit_pruned';

-- INSERT OR REPLACE would overwrite a row without firing the delete trigger.
CREATE TRIGGER audit_append_only BEFORE INSERT ON audit
WHEN NEW.id IS NOT NULL AND NEW.id <= (SELECT coalesce(max(id), 0) FROM audit)
BEGIN
 SELECT RAISE(ABORT, 'audit is append-only');
END;

-- The administrator's policy (relay/policy.py), one row per change. The row
-- with the highest revision is in force; with no rows, the defaults are. Rows
-- are never changed: `policy reset` adds a row holding {} (the defaults).
CREATE TABLE policy
(
 revision INTEGER PRIMARY KEY AUTOINCREMENT,
 document TEXT NOT NULL, -- JSON, as relay/policy.py writes it
 changed_by TEXT NOT NULL, -- who changed it (the admin command's user)
 changed_at REAL NOT NULL -- seconds since the epoch
);
