-- Read model: one row per live campaign, for the campaign list.
CREATE TABLE campaign_list (
    campaign_id    TEXT   PRIMARY KEY,
    owner_id       TEXT   NOT NULL,
    name           TEXT   NOT NULL,
    status         TEXT   NOT NULL,
    script_id      TEXT   NOT NULL,
    total_calls    BIGINT NOT NULL,
    finished_calls BIGINT NOT NULL,
    created_at     TEXT   NOT NULL,
    started_at     TEXT,
    completed_at   TEXT,
    cancelled_at   TEXT,
    last_position  BIGINT NOT NULL
);

CREATE INDEX campaign_list_by_owner ON campaign_list (owner_id, created_at);
