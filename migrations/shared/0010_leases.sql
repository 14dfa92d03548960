-- Single-active worker leases: who holds each one and its epoch, bumped by every acquisition.
-- Checkpoints saved under a lease are refused once its epoch has moved on (fencing).
CREATE TABLE worker_leases (
    name         TEXT   PRIMARY KEY,
    epoch        BIGINT NOT NULL,
    holder       TEXT   NOT NULL,
    acquired_at  TEXT   NOT NULL,
    heartbeat_at TEXT   NOT NULL
);
