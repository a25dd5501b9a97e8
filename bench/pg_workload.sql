-- The workload of bench/pg, in two parts chosen with psql's -v part=...
--
--   part=load   1,000 songs of 1,000 10-byte hashes each: 1,000,000 fingerprint rows, into
--               Dejavu's schema as `afp_workload init` creates it (run first).
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
INSERT INTO songs (song_name, fingerprinted, total_hashes)
  SELECT 'song ' || g, 1, 1000 FROM generate_series(1, 1000) g;
INSERT INTO fingerprints (hash, song_id, "offset")
  SELECT substring(decode(md5(s || ':' || o), 'hex') FROM 1 FOR 10), s, o
  FROM generate_series(1, 1000) s, generate_series(1, 1000) o;
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
