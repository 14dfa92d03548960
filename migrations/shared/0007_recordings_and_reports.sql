-- Recordings: consent and the recording's stage on the call list (built from Call events), so
-- the API can answer GET calls/{id}/recording and the recordings worker finds its work.
ALTER TABLE call_list ADD COLUMN recording_consent BIGINT;
ALTER TABLE call_list ADD COLUMN recording_sid TEXT;
ALTER TABLE call_list ADD COLUMN recording_status TEXT;
ALTER TABLE call_list ADD COLUMN recording_bytes BIGINT;
ALTER TABLE call_list ADD COLUMN recording_duration_secs BIGINT;
ALTER TABLE call_list ADD COLUMN recording_stored_at TEXT;
CREATE INDEX call_list_by_recording_status ON call_list (recording_status, recording_stored_at);

-- Generated reports: the file under <data dir>/reports/ and when its download link expires.
-- Not a read model: a report is a snapshot taken at a request, not a function of the events.
CREATE TABLE reports (
    report_id    TEXT   PRIMARY KEY,
    owner_id     TEXT   NOT NULL,
    campaign_id  TEXT   NOT NULL,
    format       TEXT   NOT NULL,
    file_name    TEXT   NOT NULL,
    bytes        BIGINT NOT NULL,
    created_at   TEXT   NOT NULL,
    expires_at   TEXT   NOT NULL
);
CREATE INDEX reports_by_expiry ON reports (expires_at);
