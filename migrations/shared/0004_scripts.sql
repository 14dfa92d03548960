-- Read model of call scripts: the current version of each live script (drafts included), and
-- every version's content so a campaign can load exactly the version it was started with.
-- Text columns hold JSON and RFC 3339 UTC timestamps, as everywhere else.
CREATE TABLE scripts (
    script_id     TEXT   PRIMARY KEY,
    owner_id      TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    status        TEXT   NOT NULL,
    version       BIGINT NOT NULL,
    natural_input TEXT   NOT NULL,
    content       TEXT   NOT NULL,
    writer        TEXT,
    created_at    TEXT   NOT NULL,
    updated_at    TEXT   NOT NULL,
    last_position BIGINT NOT NULL
);

CREATE INDEX scripts_by_owner ON scripts (owner_id, created_at);

CREATE TABLE script_versions (
    script_id   TEXT   NOT NULL,
    version     BIGINT NOT NULL,
    owner_id    TEXT   NOT NULL,
    content     TEXT   NOT NULL,
    recorded_at TEXT   NOT NULL,
    PRIMARY KEY (script_id, version)
);
