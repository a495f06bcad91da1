-- Upgrade a relay database from schema version 1 to 2 (relay/database.py runs
-- it in one transaction with foreign keys off, then sets the version).
--
-- accounts gains the 'member' role, an e-mail column and a groups column.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt
-- (SQLite's documented procedure); nothing refers to accounts, so ids stay as
-- they are.

ALTER TABLE accounts RENAME TO accounts_v1;

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

INSERT INTO accounts (id, name, role, password_hash, disabled, created_at, groups, email)
 SELECT id, name, role, password_hash, disabled, created_at, '[]', NULL FROM accounts_v1;

DROP TABLE accounts_v1;

CREATE TABLE policy
(
 revision INTEGER PRIMARY KEY AUTOINCREMENT,
 document TEXT NOT NULL, -- JSON, as relay/policy.py writes it
 changed_by TEXT NOT NULL, -- who changed it (the admin command's user)
 changed_at REAL NOT NULL -- seconds since the epoch
);

-- Audit retention: deletes only through a recorded prune (see relay-v2.sql).
DROP TRIGGER audit_no_delete;

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
