-- Results of calls (issue #8): transcript, summary and the cost per component on the call read
-- model; a cost ledger for usage and budgets; the post-call work queue; budget alerts.
ALTER TABLE call_list ADD COLUMN conversation_id TEXT;
ALTER TABLE call_list ADD COLUMN transcript TEXT;
ALTER TABLE call_list ADD COLUMN transcript_source TEXT;
ALTER TABLE call_list ADD COLUMN summary TEXT;
ALTER TABLE call_list ADD COLUMN suggested_result TEXT;
ALTER TABLE call_list ADD COLUMN follow_up_needed BIGINT;
ALTER TABLE call_list ADD COLUMN summary_source TEXT;
ALTER TABLE call_list ADD COLUMN cost_telephony_micros BIGINT NOT NULL DEFAULT 0;
ALTER TABLE call_list ADD COLUMN cost_voice_micros BIGINT NOT NULL DEFAULT 0;
ALTER TABLE call_list ADD COLUMN cost_llm_micros BIGINT NOT NULL DEFAULT 0;

-- Read model: one row per cost event (kept when a campaign is deleted: spend stays spent).
CREATE TABLE call_costs (
    position      BIGINT PRIMARY KEY,
    call_id       TEXT   NOT NULL,
    owner_id      TEXT   NOT NULL,
    campaign_id   TEXT   NOT NULL,
    attempt       BIGINT,
    component     TEXT   NOT NULL,
    amount_micros BIGINT NOT NULL,
    recorded_at   TEXT   NOT NULL,
    day           TEXT   NOT NULL
);

CREATE INDEX call_costs_by_owner_time ON call_costs (owner_id, recorded_at);
CREATE INDEX call_costs_by_owner_day ON call_costs (owner_id, day);

-- Work queue of the post-call worker: one row per dial attempt, due once the attempt is over.
CREATE TABLE post_call_work (
    call_id         TEXT   NOT NULL,
    attempt         BIGINT NOT NULL,
    due_at          TEXT,
    tries           BIGINT NOT NULL DEFAULT 0,
    telephony_done  BIGINT NOT NULL DEFAULT 0,
    details_done    BIGINT NOT NULL DEFAULT 0,
    summary_done    BIGINT NOT NULL DEFAULT 0,
    done            BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    updated_at      TEXT   NOT NULL,
    PRIMARY KEY (call_id, attempt)
);

CREATE INDEX post_call_work_due ON post_call_work (done, due_at);

-- Months in which an account's spend crossed its alert threshold (one alert per month).
CREATE TABLE budget_alerts (
    account_id       TEXT   NOT NULL,
    month            TEXT   NOT NULL,
    spend_micros     BIGINT NOT NULL,
    threshold_micros BIGINT NOT NULL,
    alerted_at       TEXT   NOT NULL,
    PRIMARY KEY (account_id, month)
);
