-- Per-account options of PNAUTHINFO3 (docs/authentication.md):
-- auth_bind_request, every signature must be the request-bound form
-- (Binding=request: method, path and query, body SHA-256); auth_once,
-- every signature is accepted once (a replay cache in the shared zone for
-- the account's window).  Both off keeps the reference scheme as it was.
ALTER TABLE prefs_account
    ADD COLUMN auth_bind_request boolean NOT NULL DEFAULT false,
    ADD COLUMN auth_once boolean NOT NULL DEFAULT false;
