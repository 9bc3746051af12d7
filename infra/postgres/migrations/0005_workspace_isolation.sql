-- Workspace isolation by row-level security. Requests made for a workspace (an API key, a
-- member) read projection tables as `keyledger_workspace`, with the workspace named in the
-- transaction setting `keyledger.workspace_id`: a query that forgets its workspace filter
-- still sees that workspace's rows only, and none at all when the setting is missing.
-- The service's own role owns the tables and is not subject to the policies.
DO $$
BEGIN
    CREATE ROLE keyledger_workspace NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- the role is cluster-wide: another database of this cluster made it
END
$$;

DO $$
BEGIN
    -- Lets the service's role SET ROLE to it (a superuser may anyway).
    EXECUTE format('GRANT keyledger_workspace TO %I', current_user);
EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
    NULL;
END
$$;

-- Projections call this from their DDL, so a rebuilt table is isolated again. It changes
-- nothing (and takes no lock) on a table already isolated: it runs on every start.
CREATE OR REPLACE FUNCTION keyledger_isolate(target regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT (SELECT relrowsecurity FROM pg_class WHERE oid = target) THEN
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
    END IF;
    IF NOT has_table_privilege('keyledger_workspace', target, 'SELECT') THEN
        EXECUTE format('GRANT SELECT ON %s TO keyledger_workspace', target);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policy
                   WHERE polrelid = target AND polname = 'workspace_isolation') THEN
        EXECUTE format(
            'CREATE POLICY workspace_isolation ON %s TO keyledger_workspace USING '
            '(workspace_id = current_setting(''keyledger.workspace_id'', true))', target);
    END IF;
END
$$;
