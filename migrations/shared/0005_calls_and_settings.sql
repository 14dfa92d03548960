-- Read model: one row per contact of a campaign, from ContactsAdded on, updated by its call.
CREATE TABLE call_list (
    call_id        TEXT   PRIMARY KEY,
    campaign_id    TEXT   NOT NULL,
    owner_id       TEXT   NOT NULL,
    seq            BIGINT NOT NULL,
    phone          TEXT   NOT NULL,
    name           TEXT,
    context        TEXT   NOT NULL,
    status         TEXT   NOT NULL,
    result         TEXT,
    status_reason  TEXT,
    attempts       BIGINT NOT NULL,
    retry_at       TEXT,
    attempt_at     TEXT,
    provider_sid   TEXT,
    has_aggregate  BIGINT NOT NULL,
    finished       BIGINT NOT NULL,
    duration_secs  BIGINT,
    cost_micros    BIGINT NOT NULL,
    created_at     TEXT   NOT NULL,
    updated_at     TEXT   NOT NULL,
    last_position  BIGINT NOT NULL
);

CREATE INDEX call_list_by_campaign ON call_list (campaign_id, seq);
CREATE INDEX call_list_by_owner_status ON call_list (owner_id, status);

ALTER TABLE campaign_list ADD COLUMN scheduled_at TEXT;
ALTER TABLE campaign_list ADD COLUMN settings TEXT;
ALTER TABLE campaign_list ADD COLUMN pause_reason TEXT;

-- Account defaults for new campaigns, budgets and caller id (plain settings, not history).
CREATE TABLE account_settings (
    account_id TEXT PRIMARY KEY,
    settings   TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The do-not-call list: numbers an account never dials.
CREATE TABLE suppressions (
    account_id TEXT NOT NULL,
    phone      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, phone)
);
