-- Credentials and sessions live in plain tables: events record that things happened, never the
-- secrets themselves.
CREATE TABLE credentials (
    account_id    TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    ended_at     TEXT,
    end_reason   TEXT,
    user_agent   TEXT
);

CREATE INDEX sessions_by_account ON sessions (account_id, created_at);
