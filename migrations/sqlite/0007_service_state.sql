-- What the service last told the fediverse about itself, kept across restarts so that a change
-- is noticed at start: today the domain of its handles (THREADBRIDGE_HANDLE_DOMAIN), whose change
-- is announced to followers with an Update of each local actor. Keep in step with
-- migrations/postgres/0007_service_state.sql.
CREATE TABLE service_state (
    name    TEXT PRIMARY KEY,
    value   TEXT NOT NULL
);
