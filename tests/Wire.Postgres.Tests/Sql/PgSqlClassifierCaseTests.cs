using System.Text;
using Wire.Enforcement.Policy;
using Wire.Postgres.Sql;
using K = Wire.Enforcement.Policy.StatementKind;

namespace Wire.Postgres.Tests.Sql;

/// <summary>
/// One statement per row: kind (plus the extra kinds it also performs), relations, functions, and the risk flags.
/// Relations and functions are comma-separated in first-seen order ("" for none). Flags are the exact set among
/// NoWhere, Cte (data-modifying CTE), Copies, Opaque and Explain.
/// </summary>
public sealed class PgSqlClassifierCaseTests
{
    public static TheoryData<string, string, string, string, string> Cases() => new()
    {
        // SELECT and friends
        { "SELECT 1", "Select", "", "", "" },
        { "select abalance from pgbench_accounts where aid = $1", "Select", "pgbench_accounts", "", "" },
        { "TABLE t", "Select", "t", "", "" },
        { "TABLE public.\"Orders\"", "Select", "public.Orders", "", "" },
        { "VALUES (1), (2)", "Select", "", "", "" },
        { "VALUES (lower('A'))", "Select", "", "lower", "Opaque" },
        { "(SELECT 1)", "Select", "", "", "" },
        { "((SELECT a FROM t) UNION (SELECT b FROM u))", "Select", "t,u", "", "" },
        { "SELECT * FROM a WHERE x = 1 UNION ALL SELECT * FROM b", "Select", "a,b", "", "" },
        { "DECLARE c CURSOR FOR SELECT * FROM t", "Select", "t", "", "" },
        { "DECLARE c BINARY NO SCROLL CURSOR WITH HOLD FOR SELECT * FROM t", "Select", "t", "", "" },
        { "SELECT * FROM t FOR UPDATE", "Select", "t", "", "" },
        { "SELECT * FROM t WHERE x = 1 FOR NO KEY UPDATE OF t SKIP LOCKED", "Select", "t", "", "" },

        // INSERT / UPDATE / DELETE / MERGE
        { "INSERT INTO t VALUES (1)", "Insert", "t", "", "" },
        { "INSERT INTO t (a, b) VALUES (1, 2)", "Insert", "t", "", "" },
        { "INSERT INTO t (update, delete) VALUES (1, 2)", "Insert", "t", "", "" },
        { "INSERT INTO t DEFAULT VALUES", "Insert", "t", "", "" },
        { "INSERT INTO t AS x (a) OVERRIDING SYSTEM VALUE VALUES (1) RETURNING x.a", "Insert", "t", "", "" },
        { "INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = excluded.a", "Insert+Update", "t", "", "" },
        {
            "INSERT INTO t (a) SELECT a FROM u ON CONFLICT (lower(a)) WHERE a > 0 DO UPDATE SET a = 1",
            "Insert+Update", "t,u", "lower", "Copies Opaque"
        },
        { "INSERT INTO t VALUES (1) ON CONFLICT ON CONSTRAINT c DO NOTHING", "Insert", "t", "", "" },
        { "UPDATE t SET a = 1 WHERE id = 2", "Update", "t", "", "" },
        { "UPDATE ONLY t AS x SET a = 1 WHERE x.id = 1", "Update", "t", "", "" },
        { "UPDATE t SET (a, b) = (1, 2) WHERE id = $1 RETURNING *", "Update", "t", "", "" },
        { "DELETE FROM t WHERE id = 1", "Delete", "t", "", "" },
        { "DELETE FROM ONLY s.t x WHERE x.id = 1", "Delete", "s.t", "", "" },
        {
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a "
            + "WHEN NOT MATCHED THEN INSERT (id, a) VALUES (s.id, s.a)",
            "Merge+Update+Insert", "t,s", "", "Copies"
        },
        { "MERGE INTO t AS x USING (SELECT * FROM s) AS y ON x.id = y.id WHEN MATCHED THEN DELETE", "Merge+Delete", "t,s", "", "" },
        {
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED AND s.gone THEN DELETE WHEN NOT MATCHED BY SOURCE THEN DELETE",
            "Merge+Delete", "t,s", "", ""
        },

        // CREATE / ALTER / DROP
        { "CREATE TABLE t (id int PRIMARY KEY, name varchar(10))", "Create", "t", "", "" },
        { "CREATE OR REPLACE VIEW v AS SELECT * FROM t", "Create", "v,t", "", "" },
        { "CREATE OR REPLACE TEMP RECURSIVE VIEW v (n) AS VALUES (1)", "Create", "v", "", "" },
        { "CREATE VIEW v (a, b) AS VALUES (1, 2)", "Create", "v", "", "" },
        { "CREATE TEMP TABLE t AS SELECT * FROM u", "Create+Select", "t,u", "", "Copies" },
        {
            "CREATE UNLOGGED TABLE IF NOT EXISTS t (a, b) WITH (fillfactor = 70) AS TABLE u WITH NO DATA",
            "Create+Select", "t,u", "", "Copies"
        },
        { "CREATE TABLE t AS EXECUTE p (1)", "Create+Select+Execute", "t", "", "Copies" },
        { "CREATE MATERIALIZED VIEW m AS SELECT * FROM t WITH NO DATA", "Create+Select", "m,t", "", "Copies" },
        { "CREATE INDEX i ON t (a)", "Create", "t", "", "" },
        {
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON ONLY s.t USING btree (lower(name)) INCLUDE (b) WHERE deleted IS NULL",
            "Create", "s.t", "lower", "Opaque"
        },
        { "CREATE INDEX ON t USING gin (to_tsvector('english', body))", "Create", "t", "to_tsvector", "Opaque" },
        { "CREATE SCHEMA s", "Create", "", "", "" },
        { "CREATE SEQUENCE s START 1", "Create", "s", "", "" },
        {
            "CREATE TABLE t (a varchar(10), b numeric(10,2), c char(84), d timestamp(3) with time zone, e bit varying(5), "
            + "f character varying(20), g int DEFAULT nextval('s'), CHECK (a <> ''), UNIQUE (a), PRIMARY KEY (b), "
            + "FOREIGN KEY (g) REFERENCES u (id) ON DELETE CASCADE)",
            "Create", "t,u", "nextval", "Opaque"
        },
        { "CREATE TABLE t (LIKE u INCLUDING ALL)", "Create", "t,u", "", "" },
        { "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (1) TO (10)", "Create", "p1,p", "", "" },
        { "CREATE TABLE c (a int) INHERITS (p1, s.p2)", "Create", "c,p1,s.p2", "", "" },
        { "CREATE TABLE t (a int) PARTITION BY RANGE (a)", "Create", "t", "", "" },
        {
            "CREATE TABLE t (a int GENERATED ALWAYS AS IDENTITY (START WITH 1), b int GENERATED ALWAYS AS (a * 2) STORED)",
            "Create", "t", "", ""
        },
        { "CREATE TABLE t (r int REFERENCES u, e int REFERENCES s.v (id))", "Create", "t,u,s.v", "", "" },
        { "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql AS $$ SELECT a; DELETE FROM t; $$", "Create", "", "", "" },
        { "CREATE OR REPLACE FUNCTION public.f(a varchar(10)) RETURNS SETOF t AS 'select 1' LANGUAGE sql", "Create", "", "", "" },
        {
            "CREATE FUNCTION f() RETURNS TABLE (a int) LANGUAGE sql BEGIN ATOMIC SELECT a FROM t; DELETE FROM u; END",
            "Create", "t,u", "", ""
        },
        { "CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (CASE WHEN true THEN 1 ELSE 2 END); END", "Create", "t", "", "" },
        { "CREATE FUNCTION f() RETURNS int RETURN (SELECT count(*) FROM t)", "Create", "t", "count", "Opaque" },
        { "CREATE TRIGGER tr BEFORE INSERT OR UPDATE ON t FOR EACH ROW WHEN (new.a > 0) EXECUTE FUNCTION f()", "Create", "t", "", "" },
        { "CREATE POLICY p ON t FOR SELECT USING (owner = current_user)", "Create", "t", "", "" },
        { "CREATE RULE r AS ON INSERT TO t DO INSTEAD (INSERT INTO u VALUES (new.a); DELETE FROM v)", "Create", "t,u,v", "", "" },
        { "CREATE RULE r AS ON UPDATE TO t DO ALSO NOTIFY t", "Create", "t", "", "" },
        { "CREATE AGGREGATE a (int) (SFUNC = f, STYPE = int)", "Create", "", "", "" },
        { "CREATE TYPE t AS ENUM ('a', 'b')", "Create", "", "", "" },
        { "CREATE TYPE t AS (a int, b text)", "Create", "", "", "" },
        { "CREATE DOMAIN d AS numeric(10, 2) CHECK (VALUE > 0)", "Create", "", "", "" },
        { "CREATE STATISTICS s (dependencies) ON a, b FROM t", "Create", "t", "", "" },
        { "ALTER TABLE t ADD COLUMN c int", "Alter", "t", "", "" },
        { "ALTER TABLE IF EXISTS ONLY public.t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (id)", "Alter", "public.t,u", "", "" },
        { "ALTER TABLE t ALTER COLUMN c TYPE int USING to_int(c)", "Alter", "t", "to_int", "Opaque" },
        { "ALTER TABLE t ATTACH PARTITION p FOR VALUES IN (1)", "Alter", "t,p", "", "" },
        { "ALTER TABLE t ADD CONSTRAINT e EXCLUDE USING gist (c WITH &&)", "Alter", "t", "", "" },
        { "ALTER TABLE t SET (fillfactor = 70)", "Alter", "t", "", "" },
        { "ALTER MATERIALIZED VIEW m RENAME TO n", "Alter", "m", "", "" },
        { "ALTER ROLE r SET search_path = x", "Alter", "", "", "" },
        { "ALTER FUNCTION f(int) OWNER TO r", "Alter", "", "", "" },
        { "DROP TABLE a, b CASCADE", "Drop", "a,b", "", "" },
        { "DROP TABLE IF EXISTS a", "Drop", "a", "", "" },
        { "DROP INDEX CONCURRENTLY IF EXISTS i", "Drop", "i", "", "" },
        { "DROP MATERIALIZED VIEW m", "Drop", "m", "", "" },
        { "DROP VIEW v, s.w", "Drop", "v,s.w", "", "" },
        { "DROP TRIGGER tr ON t", "Drop", "t", "", "" },
        { "DROP FUNCTION f(int)", "Drop", "", "", "" },
        { "DROP SCHEMA s CASCADE", "Drop", "", "", "" },

        // TRUNCATE, GRANT, REVOKE
        { "TRUNCATE a, b", "Truncate", "a,b", "", "" },
        { "TRUNCATE TABLE ONLY a, b * RESTART IDENTITY CASCADE", "Truncate", "a,b", "", "" },
        { "GRANT SELECT ON t TO r", "Grant", "t", "", "" },
        { "GRANT SELECT (a, b), UPDATE (c) ON TABLE t, u TO r WITH GRANT OPTION", "Grant", "t,u", "", "" },
        { "GRANT r TO u", "Grant", "", "", "" },
        { "GRANT USAGE ON SCHEMA s TO r", "Grant", "", "", "" },
        { "GRANT SELECT ON ALL TABLES IN SCHEMA s TO r", "Grant", "", "", "" },
        { "GRANT EXECUTE ON FUNCTION f(int) TO r", "Grant", "", "", "" },
        { "REVOKE ALL ON t FROM r", "Revoke", "t", "", "" },
        { "REVOKE GRANT OPTION FOR SELECT ON SEQUENCE s FROM r", "Revoke", "s", "", "" },

        // COPY
        { "COPY t TO STDOUT", "CopyTo", "t", "", "" },
        { "COPY t (a, b) FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL (a))", "CopyFrom", "t", "", "" },
        { "COPY t FROM STDIN WHERE a > lower('x')", "CopyFrom", "t", "lower", "Opaque" },
        { "COPY t TO '/tmp/x.csv'", "CopyTo", "t", "", "Copies" },
        { "COPY t FROM '/tmp/x.csv'", "CopyFrom", "t", "", "" },
        { "COPY BINARY t TO STDOUT", "CopyTo", "t", "", "" },
        { "COPY t TO PROGRAM 'gzip > /tmp/x'", "CopyProgram", "t", "", "Copies" },
        { "COPY t FROM PROGRAM 'curl x'", "CopyProgram", "t", "", "Copies" },
        { "COPY (SELECT * FROM t JOIN u USING (id)) TO STDOUT", "CopyTo", "t,u", "", "" },
        { "COPY (DELETE FROM t RETURNING *) TO STDOUT", "CopyTo+Delete", "t", "", "NoWhere" },

        // Code, prepared statements, session
        { "DO $$BEGIN PERFORM 1; END$$", "Do", "", "", "Opaque" },
        { "DO LANGUAGE plpgsql 'BEGIN END'", "Do", "", "", "Opaque" },
        { "CALL p(1, 2)", "Call", "", "p", "Opaque" },
        { "CALL s.p((SELECT max(a) FROM t))", "Call", "t", "s.p,max", "Opaque" },
        { "EXECUTE p(1)", "Execute", "", "", "" },
        { "EXECUTE p(f(1))", "Execute", "", "f", "Opaque" },
        { "PREPARE p (int) AS SELECT * FROM t WHERE id = $1", "Prepare", "t", "", "" },
        { "PREPARE p AS DELETE FROM t", "Prepare", "t", "", "" },
        { "SET search_path TO public", "Set", "", "", "" },
        { "SET LOCAL statement_timeout = 0", "Set", "", "", "" },
        { "SET ROLE admin", "Set", "", "", "" },
        { "SET SESSION AUTHORIZATION u", "Set", "", "", "" },
        { "RESET ALL", "Set", "", "", "" },
        { "BEGIN", "Transaction", "", "", "" },
        { "START TRANSACTION ISOLATION LEVEL SERIALIZABLE", "Transaction", "", "", "" },
        { "COMMIT", "Transaction", "", "", "" },
        { "END", "Transaction", "", "", "" },
        { "ROLLBACK TO SAVEPOINT s", "Transaction", "", "", "" },
        { "ABORT", "Transaction", "", "", "" },
        { "SAVEPOINT s", "Transaction", "", "", "" },
        { "RELEASE SAVEPOINT s", "Transaction", "", "", "" },
        { "PREPARE TRANSACTION 'x'", "Transaction", "", "", "" },
        { "COMMIT PREPARED 'x'", "Transaction", "", "", "" },
        { "ROLLBACK PREPARED 'x'", "Transaction", "", "", "" },
        { "VACUUM", "Vacuum", "", "", "" },
        { "VACUUM (VERBOSE, ANALYZE) t (a), u", "Vacuum+Analyze", "t,u", "", "" },
        { "VACUUM FULL t", "Vacuum", "t", "", "" },
        { "VACUUM ANALYZE t", "Vacuum+Analyze", "t", "", "" },
        { "ANALYZE t", "Analyze", "t", "", "" },
        { "ANALYSE VERBOSE t (a, b)", "Analyze", "t", "", "" },
        { "LISTEN ch", "Listen", "", "", "" },
        { "UNLISTEN *", "Listen", "", "", "" },
        { "NOTIFY ch, 'x'", "Notify", "", "", "" },

        // Other
        { "SHOW search_path", "Other", "", "", "" },
        { "FETCH 10 FROM c", "Other", "", "", "" },
        { "MOVE NEXT IN c", "Other", "", "", "" },
        { "CLOSE c", "Other", "", "", "" },
        { "LOCK TABLE t IN ACCESS EXCLUSIVE MODE", "Other", "t", "", "" },
        { "LOCK ONLY a, b * IN SHARE MODE NOWAIT", "Other", "a,b", "", "" },
        { "COMMENT ON TABLE t IS 'x'", "Other", "t", "", "" },
        { "COMMENT ON COLUMN s.t.c IS 'x'", "Other", "s.t", "", "" },
        { "DEALLOCATE ALL", "Other", "", "", "" },
        { "DISCARD ALL", "Other", "", "", "" },
        { "LOAD 'auto_explain'", "Other", "", "", "" },
        { "REFRESH MATERIALIZED VIEW CONCURRENTLY m", "Other", "m", "", "" },
        { "REINDEX TABLE CONCURRENTLY t", "Other", "t", "", "" },
        { "CLUSTER t USING i", "Other", "t", "", "" },
        { "CHECKPOINT", "Other", "", "", "" },

        // WITH
        { "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", "Select+Delete", "t", "", "NoWhere Cte" },
        { "WITH x AS (SELECT * FROM t) DELETE FROM u WHERE id IN (SELECT id FROM x)", "Delete", "t,u", "", "" },
        {
            "WITH RECURSIVE r(n) AS (VALUES (1) UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT sum(n) FROM r",
            "Select", "", "sum", "Opaque"
        },
        {
            "WITH u AS (UPDATE t SET a = 1 WHERE id = 1 RETURNING *), i AS (INSERT INTO log SELECT * FROM u) SELECT count(*) FROM i",
            "Select+Update+Insert", "t,log", "count", "Cte Copies Opaque"
        },
        { "WITH t AS (SELECT 1) SELECT * FROM t", "Select", "", "", "" },
        { "WITH t AS (SELECT * FROM t) SELECT * FROM t", "Select", "t", "", "" },
        { "WITH t AS (SELECT 1) DELETE FROM t", "Delete", "t", "", "NoWhere" },
        { "WITH t AS (SELECT 1) TABLE t", "Select", "", "", "" },
        { "SELECT * FROM t, (WITH t AS (SELECT 1) SELECT * FROM t) q", "Select", "t", "", "" },
        { "SELECT * FROM (WITH s AS (SELECT 1) SELECT * FROM s) q, s", "Select", "s", "", "" },
        { "WITH x AS MATERIALIZED (SELECT * FROM t) SELECT * FROM x", "Select", "t", "", "" },
        { "WITH x AS NOT MATERIALIZED (DELETE FROM t WHERE a = 1 RETURNING a) SELECT * FROM x", "Select+Delete", "t", "", "Cte" },
        { "WITH a AS (SELECT 1), b AS (SELECT * FROM a) INSERT INTO t SELECT * FROM b", "Insert", "t", "", "Copies" },
        { "WITH x AS (SELECT 1) (SELECT * FROM x)", "Select", "", "", "" },

        // EXPLAIN
        { "EXPLAIN SELECT * FROM t", "Other", "t", "", "Explain" },
        { "EXPLAIN ANALYZE DELETE FROM t", "Delete", "t", "", "NoWhere Explain" },
        { "EXPLAIN (ANALYZE) UPDATE t SET a = 1 WHERE id = 1", "Update", "t", "", "Explain" },
        { "EXPLAIN (ANALYZE true, BUFFERS) INSERT INTO t SELECT * FROM u", "Insert", "t,u", "", "Copies Explain" },
        { "EXPLAIN (ANALYZE false) DELETE FROM t", "Other", "t", "", "Explain" },
        { "EXPLAIN (ANALYZE off, ANALYZE on) DELETE FROM t WHERE a = 1", "Delete", "t", "", "Explain" },
        { "EXPLAIN (FORMAT JSON) DELETE FROM t", "Other", "t", "", "Explain" },
        { "EXPLAIN (\"analyze\") DELETE FROM t", "Delete", "t", "", "NoWhere Explain" },
        { "EXPLAIN (\"ANALYZE\") DELETE FROM t", "Other", "t", "", "Explain" },
        { "EXPLAIN (ANALYZE 'OFF') DELETE FROM t", "Other", "t", "", "Explain" },
        { "EXPLAIN (ANALYZE \"off\", VERBOSE) DELETE FROM t", "Other", "t", "", "Explain" },
        { "EXPLAIN (ANALYZE 0) DELETE FROM t", "Other", "t", "", "Explain" },
        { "EXPLAIN (ANALYZE 1) DELETE FROM t", "Delete", "t", "", "NoWhere Explain" },
        { "EXPLAIN VERBOSE SELECT f(x) FROM t", "Other", "t", "f", "Opaque Explain" },
        { "EXPLAIN ANALYSE VERBOSE SELECT 1", "Select", "", "", "Explain" },
        { "EXPLAIN ANALYZE EXECUTE p(1)", "Execute", "", "", "Explain" },
        { "EXPLAIN ANALYZE CREATE TABLE t AS SELECT * FROM u", "Create+Select", "t,u", "", "Copies Explain" },

        // Case, comments, quoting
        { "DrOp/**/TABLE x", "Drop", "x", "", "" },
        { "-- c\nDELETE FROM t", "Delete", "t", "", "NoWhere" },
        { "/* a /* nested */ b */ DELETE /* c */ FROM -- d\n t WHERE -- e\n id = 1", "Delete", "t", "", "" },
        { "sElEcT * FrOm \"MyTable\"", "Select", "MyTable", "", "" },
        { "SELECT * FROM Public.\"Cust\"", "Select", "public.Cust", "", "" },
        { "SELECT * FROM db.schema.tbl", "Select", "db.schema.tbl", "", "" },
        { "SELECT * FROM \"a\"\"b\"", "Select", "a\"b", "", "" },
        { "SELECT * FROM U&\"d\\0061t\\+000061\"", "Select", "data", "", "" },
        { "SELECT * FROM U&\"d!0061ta\" UESCAPE '!'", "Select", "data", "", "" },
        { "SELECT * FROM \"T\" \"x\" WHERE \"x\".a = 1", "Select", "T", "", "" },

        // NoWhere
        { "UPDATE t SET a = 1", "Update", "t", "", "NoWhere" },
        { "DELETE FROM t", "Delete", "t", "", "NoWhere" },
        { "UPDATE t SET a = 1 WHERE true", "Update", "t", "", "NoWhere" },
        { "DELETE FROM t WHERE 1=1", "Delete", "t", "", "NoWhere" },
        { "DELETE FROM t WHERE 'a' = 'a'", "Delete", "t", "", "NoWhere" },
        { "DELETE FROM t WHERE 1", "Delete", "t", "", "NoWhere" },
        { "DELETE FROM t WHERE NOT false", "Delete", "t", "", "NoWhere" },
        { "DELETE FROM t WHERE (1 = 1) AND true OR NULL IS NULL", "Delete", "t", "", "NoWhere" },
        { "DELETE FROM t WHERE '1'::int = 1", "Delete", "t", "", "NoWhere" },
        { "DELETE FROM t WHERE $1", "Delete", "t", "", "NoWhere" },
        { "DELETE FROM t RETURNING *", "Delete", "t", "", "NoWhere" },
        { "DELETE FROM t WHERE true RETURNING id", "Delete", "t", "", "NoWhere" },
        { "DELETE FROM t WHERE CURRENT OF c", "Delete", "t", "", "" },
        { "UPDATE t SET a = 1 WHERE CURRENT OF c", "Update", "t", "", "" },
        { "DELETE FROM t USING u WHERE t.id = u.id", "Delete", "t,u", "", "" },
        { "DELETE FROM t USING u, generate_series(1, 3) g WHERE t.id = g", "Delete", "t,u", "generate_series", "Opaque" },
        { "UPDATE t SET a = (SELECT b FROM u WHERE u.id = t.id)", "Update", "t,u", "", "NoWhere Copies" },
        { "UPDATE t SET a = u.a FROM u WHERE t.id = u.id", "Update", "t,u", "", "Copies" },
        { "UPDATE t SET a = 1 WHERE id IN (SELECT id FROM u WHERE true)", "Update", "t,u", "", "" },
        { "DELETE FROM t WHERE EXISTS (SELECT 1)", "Delete", "t", "", "" },

        // CopiesData
        { "SELECT * INTO new_t FROM t", "Select+Create", "new_t,t", "", "Copies" },
        { "SELECT a, b INTO TEMP TABLE new_t FROM t WHERE a > 1", "Select+Create", "new_t,t", "", "Copies" },
        { "INSERT INTO t SELECT * FROM u", "Insert", "t,u", "", "Copies" },
        { "INSERT INTO t TABLE u", "Insert", "t,u", "", "Copies" },
        { "INSERT INTO t (a) (SELECT a FROM u)", "Insert", "t,u", "", "Copies" },
        { "INSERT INTO t (a) WITH x AS (SELECT 1) SELECT * FROM x", "Insert", "t", "", "Copies" },
        { "INSERT INTO t VALUES ((SELECT secret FROM s))", "Insert", "t,s", "", "Copies" },
        { "INSERT INTO t VALUES (1) RETURNING (SELECT 1)", "Insert", "t", "", "" },

        // Relations
        { "SELECT * FROM a JOIN b ON a.id = b.id LEFT JOIN c USING (id) CROSS JOIN d", "Select", "a,b,c,d", "", "" },
        { "SELECT * FROM a, b AS x, c y WHERE a.id = x.id", "Select", "a,b,c", "", "" },
        { "SELECT * FROM a NATURAL JOIN (b JOIN c ON b.x = c.x)", "Select", "a,b,c", "", "" },
        { "SELECT * FROM t1 RIGHT OUTER JOIN t2 ON t1.a = t2.a FULL JOIN t3 ON true", "Select", "t1,t2,t3", "", "" },
        { "SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE EXISTS (SELECT 1 FROM v))", "Select", "t,u,v", "", "" },
        { "SELECT (SELECT max(x) FROM u) FROM t", "Select", "u,t", "max", "Opaque" },
        { "SELECT * FROM ONLY t", "Select", "t", "", "" },
        { "SELECT * FROM t TABLESAMPLE BERNOULLI (10) REPEATABLE (1)", "Select", "t", "", "" },
        { "SELECT * FROM t WHERE a IS DISTINCT FROM b", "Select", "t", "", "" },
        { "SELECT * FROM t JOIN u ON CASE WHEN t.a THEN 1 END = u.b WHERE u.c = 1", "Select", "t,u", "", "" },
        { "SELECT * FROM a CROSS JOIN LATERAL (SELECT * FROM b WHERE b.x = a.x) s", "Select", "a,b", "", "" },
        { "SELECT * FROM (VALUES (1), (2)) v(a) JOIN t ON t.a = v.a", "Select", "t", "", "" },

        // Functions and what is not one
        { "SELECT * FROM generate_series(1, 10) AS g(i)", "Select", "", "generate_series", "Opaque" },
        { "SELECT * FROM t, LATERAL unnest(t.arr) WITH ORDINALITY AS u(x, n)", "Select", "t", "unnest", "Opaque" },
        {
            "SELECT * FROM ROWS FROM (generate_series(1, 2), unnest(ARRAY[1])) AS x(a, b)",
            "Select", "", "generate_series,unnest", "Opaque"
        },
        {
            "SELECT x FROM t WHERE a IN (1, 2) AND EXISTS (SELECT 1) AND b = ANY (ARRAY[1]) AND c = ALL (SELECT 1) "
            + "AND NOT (d OR (e AND f))",
            "Select", "t", "", ""
        },
        { "SELECT count(*) FILTER (WHERE x > 0) OVER (PARTITION BY y ORDER BY z) FROM t", "Select", "t", "count", "Opaque" },
        { "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM t", "Select", "t", "percentile_cont", "Opaque" },
        { "SELECT ROW(1, 2), (1, 2) OVERLAPS (3, 4), ARRAY(SELECT 1)", "Select", "", "", "" },
        { "SELECT DISTINCT ON (a) a FROM t", "Select", "t", "", "" },
        {
            "SELECT CAST(x AS numeric(10, 2)), x::varchar(10), COALESCE(a, b), NULLIF(a, b), GREATEST(a, b), LEAST(a, b) FROM t",
            "Select", "t", "", ""
        },
        { "SELECT pg_catalog.now(), \"MyFunc\"(1), S.F(2)", "Select", "", "pg_catalog.now,MyFunc,s.f", "Opaque" },
        {
            "SELECT extract(year FROM d), substring(s FROM 1 FOR 2), trim(BOTH ' ' FROM s) FROM t",
            "Select", "t", "extract,substring,trim", "Opaque"
        },
        { "SELECT left(s, 2), right(s, 2), replace(s, 'a', 'b') FROM t", "Select", "t", "left,right,replace", "Opaque" },
        { "SELECT a FROM t GROUP BY ROLLUP (a), CUBE (b), GROUPING SETS ((a), (b))", "Select", "t", "", "" },
        { "SELECT cube(1)", "Select", "", "cube", "Opaque" },
        { "SELECT * FROM t WHERE f(x) AND g.h(y)", "Select", "t", "f,g.h", "Opaque" },
        { "SELECT 'f(x)', $$g(y)$$, \"q\", E'h(\\'z\\')'", "Select", "", "", "" },
        { "SELECT x FROM t WINDOW w AS (PARTITION BY y)", "Select", "t", "", "" },
        { "SELECT * FROM t JOIN u ON left(t.s, 2) = u.s", "Select", "t,u", "left", "Opaque" },
        { "SELECT * FROM t WHERE a OPERATOR(pg_catalog.=) 1", "Select", "t", "", "" },
        { "SELECT xmlelement(name foo, 'x')", "Select", "", "xmlelement", "Opaque" },
        { "SELECT x FROM t ORDER BY f(x) DESC NULLS LAST LIMIT (10) OFFSET (5)", "Select", "t", "f", "Opaque" },
        { "SELECT * FROM t WHERE id = ANY($1::int[]) AND a LIKE 'x%' ESCAPE '!'", "Select", "t", "", "" },
        { "SELECT f(x) AS y, g (1) FROM t", "Select", "t", "f,g", "Opaque" },
        { "SELECT filter(a), first(b), key(c), last(d), set(e), hash(f), options(g), over(h), zone(i) FROM t", "Select", "t",
            "filter,first,key,last,set,hash,options,over,zone", "Opaque" },
        { "SELECT * FROM t ORDER BY a FETCH FIRST (5) ROWS ONLY", "Select", "t", "", "" },
        { "SELECT grouping(a), a FROM t GROUP BY GROUPING SETS ((a), ())", "Select", "t", "", "" },
        { "SELECT * FROM t WHERE ts AT TIME ZONE ('UTC') > now()", "Select", "t", "now", "Opaque" },
        { "SELECT f() FROM t WHERE x IN (SELECT y FROM u) AND z = (SELECT max(z) FROM v)", "Select", "t,u,v", "f,max", "Opaque" },
        { "SELECT unknown_word (SELECT a FROM secrets)", "Select", "secrets", "unknown_word", "Opaque" },
        { "SELECT * FROM ONLY (secrets)", "Select", "secrets", "", "" },
        { "SELECT * FROM t UNION TABLE secrets", "Select", "t,secrets", "", "" },
        { "SELECT * FROM t WHERE a = ANY (TABLE secrets)", "Select", "t,secrets", "", "" },
        { "IMPORT FOREIGN SCHEMA r FROM SERVER s INTO l", "Other", "", "", "" },
        {
            "SELECT (1), ROW(1), ARRAY(SELECT 1), ARRAY[1], x = SOME (SELECT 1) FROM (SELECT 1) s JOIN (t JOIN u ON (true)) ON (true) "
            + "WHERE (a) AND (b) OR (c) AND NOT (d) AND e IN (1) AND EXISTS (SELECT 1) AND (f) OVERLAPS (g)",
            "Select", "t,u", "", ""
        },
        { "DELETE FROM t WHERE (x) RETURNING (a)", "Delete", "t", "", "" },
        { "UPDATE t SET (a, b) = (SELECT 1, 2) WHERE (c)", "Update", "t", "", "Copies" },
        { "WITH x(a, b) AS (SELECT 1, 2), y (c) AS (VALUES (3)) SELECT * FROM x, y", "Select", "", "", "" },
        { "SELECT * FROM t AS a (x, y) JOIN u b (z) USING (id)", "Select", "t,u", "", "" },
        { "SELECT a::numeric(5), b::character varying(3), c::timestamptz(0), d::bit(2) FROM t", "Select", "t", "", "" },
        { "SELECT * FROM t WHERE (a, b) IN ((1, 2)) AND x BETWEEN (1) AND (2)", "Select", "t", "", "" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Classifies(string sql, string kinds, string relations, string functions, string flags)
    {
        PgSqlScript script = PgSqlClassifier.Classify(Encoding.UTF8.GetBytes(sql), standardConformingStrings: true);
        PgStatement statement = Assert.Single(script.Statements);

        string[] kindNames = kinds.Split('+');
        Assert.Equal(Enum.Parse<K>(kindNames[0]), statement.Kind);
        Assert.Equal(kindNames.Select(Enum.Parse<K>).Order(), statement.Kinds.Kinds);
        Assert.Equal(Split(relations), statement.Relations);
        Assert.Equal(Split(functions), statement.Functions);
        Assert.Equal(Split(flags, ' ').Order(StringComparer.Ordinal), Flags(statement).Order(StringComparer.Ordinal));
    }

    private static string[] Split(string list, char separator = ',')
        => list.Length == 0 ? [] : list.Split(separator);

    private static IEnumerable<string> Flags(PgStatement statement)
    {
        if (statement.NoWhere)
        {
            yield return "NoWhere";
        }

        if (statement.DataModifyingCte)
        {
            yield return "Cte";
        }

        if (statement.CopiesData)
        {
            yield return "Copies";
        }

        if (statement.OpaqueCode)
        {
            yield return "Opaque";
        }

        if (statement.Explain)
        {
            yield return "Explain";
        }
    }
}
