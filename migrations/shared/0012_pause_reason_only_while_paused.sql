-- A campaign's pause reason says why it is paused: the projection now clears it when the
-- campaign resumes, completes or is cancelled. Clear it on the rows written before.
UPDATE campaign_list SET pause_reason = NULL WHERE status <> 'PAUSED';
