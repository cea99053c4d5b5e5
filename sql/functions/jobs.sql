-- The background job queue: claiming with a lease, finishing, and the
-- NOTIFY that wakes the helper (tables: 001_foundation).
--
-- The one current definition of each function and trigger here: edit it in
-- place and run `prefsctl migrate`, which re-applies every file of
-- sql/functions (in the order of sql/functions/manifest) in one transaction
-- after the migrations.  Tables, indexes and data changes go to a new
-- sql/migrations/NNN_name.sql instead; so does dropping a function.


CREATE OR REPLACE FUNCTION prefs_job_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('prefs_job', NEW.job_type);
    RETURN NEW;
END
$$;


CREATE OR REPLACE TRIGGER prefs_job_notify
    AFTER INSERT ON prefs_job
    FOR EACH ROW EXECUTE FUNCTION prefs_job_notify();


-- Claim up to p_limit runnable jobs for p_owner.  Jobs whose lease expired
-- after their last allowed attempt are failed here rather than run again.

CREATE OR REPLACE FUNCTION prefs_job_claim(p_owner text, p_lease interval,
    p_limit integer)
RETURNS TABLE (job_id bigint, job_type text, payload text, lease_token bigint,
    attempt integer)
LANGUAGE sql AS $$
    WITH dead AS (
        UPDATE prefs_job j
           SET state = 'failed', finished_at = now(), lease_until = NULL,
               error = 'lease expired after the last attempt'
         WHERE j.job_id IN (
                SELECT d.job_id FROM prefs_job d
                 WHERE d.state = 'running' AND d.lease_until < now()
                   AND d.attempts >= d.max_attempts
                   FOR UPDATE SKIP LOCKED)
    ),
    c AS (
        SELECT j.job_id
          FROM prefs_job j
         WHERE ((j.state = 'queued' AND j.run_at <= now())
                OR (j.state = 'running' AND j.lease_until < now()))
           AND j.attempts < j.max_attempts
         ORDER BY j.run_at, j.job_id
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    )
    UPDATE prefs_job j
       SET state = 'running',
           attempts = j.attempts + 1,
           lease_owner = p_owner,
           lease_token = nextval('prefs_job_lease_seq'),
           lease_until = now() + p_lease,
           started_at = coalesce(j.started_at, now())
      FROM c
     WHERE j.job_id = c.job_id
    RETURNING j.job_id, j.job_type, j.payload::text, j.lease_token, j.attempts
$$;


-- Finish a job: only the current lease holder may; the caller says who it
-- is (owner, token, attempt) so that a refused late outcome is recorded as
-- its own, not as the current holder's.  p_error NULL means
-- success; otherwise the job is retried after p_retry_after while attempts
-- remain, and failed for good after the last one or when p_retry_after is
-- NULL.  Returns whether the
-- outcome was accepted.

CREATE OR REPLACE FUNCTION prefs_job_finish(p_job_id bigint, p_token bigint,
    p_owner text, p_attempt integer, p_result text, p_error text,
    p_retry_after interval)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    j prefs_job%ROWTYPE;
BEGIN
    SELECT * INTO j FROM prefs_job WHERE prefs_job.job_id = p_job_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    IF j.state <> 'running' OR j.lease_token IS DISTINCT FROM p_token THEN
        INSERT INTO prefs_job_run
               (job_id, attempt, lease_owner, lease_token, accepted)
        VALUES (p_job_id, p_attempt, p_owner, p_token, false);
        RETURN false;
    END IF;

    IF p_error IS NULL THEN
        UPDATE prefs_job
           SET state = 'done', result = p_result::jsonb, error = NULL,
               finished_at = now(), lease_until = NULL
         WHERE prefs_job.job_id = p_job_id;
    ELSIF j.attempts >= j.max_attempts OR p_retry_after IS NULL THEN
        UPDATE prefs_job
           SET state = 'failed', error = p_error, finished_at = now(),
               lease_until = NULL
         WHERE prefs_job.job_id = p_job_id;
    ELSE
        UPDATE prefs_job
           SET state = 'queued', error = p_error, lease_until = NULL,
               run_at = now() + p_retry_after
         WHERE prefs_job.job_id = p_job_id;
    END IF;

    INSERT INTO prefs_job_run
           (job_id, attempt, lease_owner, lease_token, accepted)
    VALUES (p_job_id, p_attempt, p_owner, p_token, true);
    RETURN true;
END
$$;
