-- The event store. Every event has a per-aggregate `sequence` (optimistic concurrency through the
-- unique constraint) and a gapless `global_position` handed out by the single row of
-- `event_position`. An append holds that row's lock until it commits, so positions become visible
-- in strictly increasing order and a reader that remembers "last position seen" can never skip one.
-- Text columns (JSON, RFC 3339 UTC timestamps) keep one SQL dialect for Postgres and SQLite.
CREATE TABLE events (
    global_position BIGINT PRIMARY KEY,
    event_id        TEXT   NOT NULL UNIQUE,
    aggregate_type  TEXT   NOT NULL,
    aggregate_id    TEXT   NOT NULL,
    sequence        BIGINT NOT NULL,
    event_type      TEXT   NOT NULL,
    event_version   TEXT   NOT NULL,
    payload         TEXT   NOT NULL,
    metadata        TEXT   NOT NULL,
    recorded_at     TEXT   NOT NULL,
    CONSTRAINT events_stream_sequence UNIQUE (aggregate_type, aggregate_id, sequence)
);

CREATE INDEX events_by_aggregate_id ON events (aggregate_id, global_position);

CREATE TABLE event_position (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    last BIGINT  NOT NULL
);

INSERT INTO event_position (id, last) VALUES (1, 0);

-- Where each follower of the global stream (the outbox relay, every projection) has got to.
CREATE TABLE checkpoints (
    name       TEXT   PRIMARY KEY,
    position   BIGINT NOT NULL,
    updated_at TEXT   NOT NULL
);
