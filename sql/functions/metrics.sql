-- What "prefs_api metrics" reads from the database at every scrape
-- (src/http/ngx_prefs_exporter.c): one row per value, with up to two
-- labels.  Not scoped to an account: like prefs_status, it is the
-- operator's view of the whole node.  Of the deliveries, only those still
-- pending, being sent or dead are counted (partial indexes cover them), so
-- a scrape stays cheap as delivered rows pile up until their cleanup.
--
--   jobs                  job_type, state       jobs in that state now
--   webhook_deliveries    kind, state           deliveries in that state now
--                                               (state 'dead': dead letters)
--   webhook_pending_lag   -                     seconds since the oldest
--                                               undelivered event was
--                                               recorded (0: none waiting)
--   webhook_delivered_lag -                     mean seconds from an event's
--                                               recording to its delivery,
--                                               over the last 5 minutes
--
-- Bulk jobs will add their rows here (staged, processed and failed records
-- of the jobs running now); the exporter renders any "jobs" type it gets.

CREATE OR REPLACE FUNCTION prefs_metrics_scrape()
RETURNS TABLE (name text, kind text, state text, count double precision)
LANGUAGE sql STABLE AS $$
    SELECT 'jobs', j.job_type, j.state, count(*)::float8
      FROM prefs_job j
     GROUP BY j.job_type, j.state
    UNION ALL
    SELECT 'webhook_deliveries', d.kind, d.state, count(*)::float8
      FROM prefs_webhook_delivery d
     WHERE d.state IN ('pending', 'sending', 'dead')
     GROUP BY d.kind, d.state
    UNION ALL
    SELECT 'webhook_pending_lag', '', '',
           coalesce(extract(epoch FROM now() - min(d.event_recorded)), 0)
               ::float8
      FROM prefs_webhook_delivery d
     WHERE d.state IN ('pending', 'sending') AND d.kind = 'event'
    UNION ALL
    SELECT 'webhook_delivered_lag', '', '',
           coalesce(extract(epoch FROM avg(d.delivered_at - d.event_recorded)),
                    0)::float8
      FROM prefs_webhook_delivery d
     WHERE d.state = 'delivered' AND d.kind = 'event'
       AND d.created_at > now() - interval '1 hour'
       AND d.delivered_at > now() - interval '5 minutes'
$$;
