-- Why each call's last conversation with the voice agent ended (ConversationEnded).
ALTER TABLE call_list ADD COLUMN end_reason TEXT;
ALTER TABLE call_list ADD COLUMN end_close_code BIGINT;
ALTER TABLE call_list ADD COLUMN end_detail TEXT;
