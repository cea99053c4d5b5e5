-- 017: functions no current file defines, dropped where an older database
-- still has them.
--
-- prefs_webhook_body was 013's first rendering of a delivery's body (the
-- envelope builder of sql/functions/events.sql replaced it before 013 was
-- final); prefs_profile_doc_current and prefs_profile_doc_keep came with
-- 016_profile_doc_writes.sql, a file withdrawn a few hours after it landed
-- (its work is done by prefs_profile_create/update calling
-- prefs_profile_doc_fill).  Nothing calls them.  A database made from the
-- current files never had them: the statements below then do nothing.
--
-- This is how a function goes away: remove its definition from
-- sql/functions/ and drop it in a new migration.

DROP FUNCTION IF EXISTS prefs_webhook_body(prefs_webhook_delivery,
    prefs_webhook_subscription);
DROP FUNCTION IF EXISTS prefs_profile_doc_current(bigint);
DROP FUNCTION IF EXISTS prefs_profile_doc_keep(bigint);
