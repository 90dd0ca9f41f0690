-- name: grant_statements
-- The GRANTs that give the platform's role (@role) the rights it uses, and no more: data
-- rights on every table of the schema (history and audit are append-only), sequences for
-- new ids; no TRUNCATE, REFERENCES, TRIGGER and no CREATE: the role runs no DDL. Identifiers
-- are quoted by format('%I'); nothing is pasted in by the client.
SELECT format('GRANT USAGE ON SCHEMA %I TO %I', :schema, :role)
UNION ALL
SELECT format(CASE WHEN c.relname = ANY (CAST(:append_only AS text[]))
                   THEN 'GRANT SELECT, INSERT ON %I.%I TO %I'
                   ELSE 'GRANT SELECT, INSERT, UPDATE, DELETE ON %I.%I TO %I' END,
              n.nspname, c.relname, :role)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'v') AND pg_has_role(c.relowner, 'USAGE')
UNION ALL
SELECT format('GRANT USAGE, SELECT ON SEQUENCE %I.%I TO %I', n.nspname, c.relname, :role)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = :schema AND c.relkind = 'S' AND pg_has_role(c.relowner, 'USAGE');
-- name: role_facts
-- What a role may do in this database (for the checks in gis.db.roles).
SELECT r.rolsuper AS superuser, r.rolcreaterole AS createrole, r.rolcreatedb AS createdb,
       has_schema_privilege(r.oid, :schema, 'CREATE') AS create_in_schema,
       has_database_privilege(r.oid, current_database(), 'CREATE') AS create_in_database,
       EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = :schema AND pg_has_role(r.oid, c.relowner, 'USAGE')
                 AND c.relkind IN ('r', 'p')) AS owns_tables
FROM pg_roles r WHERE r.rolname = :role;
