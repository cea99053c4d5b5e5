-- Run by `prefsctl migrate` after the functions' transaction has
-- committed, outside any transaction block, on every migrate: upkeep that
-- may take long, in batches that commit as they go, so that nothing waits
-- for it.  Idempotent.
--
-- Every profile has its rendered copy (prefs_profile_doc): those missing
-- one (a migration dropped the copies of an older model, or profiles were
-- loaded straight into the tables) get it here; on a database where none
-- is missing this is one pass over the profiles.
CALL prefs_profile_doc_build_batches(1000);
