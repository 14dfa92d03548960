-- Outbound webhooks: the endpoints an account registered (the signing secret encrypted with
-- RECORDING_KEY) and one delivery per event and endpoint. A delivery is the durable unit of
-- work: pending -> delivered, or retrying until its schedule runs out -> dead (redeliverable).
-- Deliveries are written in the same transaction as the fan-out's checkpoint, so a restart
-- neither loses nor doubles one; `source` names the event that caused it.
CREATE TABLE webhook_endpoints (
    endpoint_id    TEXT   PRIMARY KEY,
    account_id     TEXT   NOT NULL,
    url            TEXT   NOT NULL,
    event_types    TEXT   NOT NULL,
    secret         TEXT   NOT NULL,
    created_at     TEXT   NOT NULL,
    failing_since  TEXT,
    disabled_at    TEXT
);
CREATE INDEX webhook_endpoints_by_account ON webhook_endpoints (account_id);

CREATE TABLE webhook_deliveries (
    delivery_id      TEXT   PRIMARY KEY,
    endpoint_id      TEXT   NOT NULL,
    event_type       TEXT   NOT NULL,
    source           TEXT   NOT NULL,
    body             TEXT   NOT NULL,
    occurred_at      TEXT   NOT NULL,
    status           TEXT   NOT NULL,
    attempts         BIGINT NOT NULL,
    next_attempt_at  TEXT,
    last_attempt_at  TEXT,
    last_status      BIGINT,
    last_error       TEXT,
    delivered_at     TEXT,
    created_at       TEXT   NOT NULL,
    UNIQUE (endpoint_id, source)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created_at);
