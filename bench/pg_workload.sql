-- The workload of bench/pg, in two parts chosen with psql's -v part=...
--
--   part=load   Dejavu's schema (as tests/integration/pg_test_db.h's kDejavuSchema) and
--               1,000 songs of 1,000 10-byte hashes each: 1,000,000 fingerprint rows.
--   part=print  Prints 3,000 fingerprint look-ups, one a line, for a second psql to run.
--
-- The look-ups are structurally distinct, so each is an entry of pg_stat_statements of
-- its own and the exporter's merging (IN and VALUES list lengths) leaves them apart: they
-- select 1 to 60 columns (the five columns of fingerprints in turn) and have 1 to 50
-- predicates (the hash, then "offset" <> k). Constants do not change a queryid, column
-- aliases neither; the number of target-list entries and of ANDed predicates does. Each
-- finds the one row of its hash.
\if :{?part}
\else
  \echo 'usage: psql -v part=load|print -f bench/pg_workload.sql'
  \quit
\endif

SELECT :'part' = 'load' AS is_load \gset
\if :is_load
CREATE TABLE songs (song_id serial PRIMARY KEY, song_name varchar(250) NOT NULL,
  fingerprinted smallint DEFAULT 0, file_sha1 bytea, total_hashes int NOT NULL DEFAULT 0,
  date_created timestamp NOT NULL DEFAULT now(), date_modified timestamp NOT NULL DEFAULT now());
CREATE TABLE fingerprints (hash bytea NOT NULL,
  song_id int NOT NULL REFERENCES songs ON DELETE CASCADE, "offset" int NOT NULL,
  date_created timestamp NOT NULL DEFAULT now(), date_modified timestamp NOT NULL DEFAULT now(),
  CONSTRAINT uq_fingerprints UNIQUE (song_id, "offset", hash));
INSERT INTO songs (song_name, fingerprinted, total_hashes)
  SELECT 'song ' || g, 1, 1000 FROM generate_series(1, 1000) g;
-- The hash index after the rows: building it once is much faster than 1M insertions.
INSERT INTO fingerprints (hash, song_id, "offset")
  SELECT substring(decode(md5(s || ':' || o), 'hex') FROM 1 FOR 10), s, o
  FROM generate_series(1, 1000) s, generate_series(1, 1000) o;
CREATE INDEX ix_fingerprints_hash ON fingerprints USING hash (hash);
ANALYZE;
\else
SELECT format('SELECT %s FROM fingerprints WHERE hash = decode(%L, ''hex'')%s;',
              (SELECT string_agg((ARRAY['hash', 'song_id', '"offset"', 'date_created',
                                        'date_modified'])[1 + (c - 1) % 5], ', ')
               FROM generate_series(1, n) c),
              encode(substring(decode(md5(n || ':' || (100 + m)), 'hex') FROM 1 FOR 10), 'hex'),
              (SELECT string_agg(format(' AND "offset" <> %s', p), '' ORDER BY p)
               FROM generate_series(1, m - 1) p))
FROM generate_series(1, 60) n, generate_series(1, 50) m
ORDER BY n, m;
\endif
