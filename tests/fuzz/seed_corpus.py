#!/usr/bin/env python3
"""Writes the seed corpus of every harness, tests/fuzz/corpus/<harness>/, from the cases of
the unit tests (tests/unit/*_test.cpp, workload/tests/unit_multipart_test.cpp) and the
/proc fixtures (tests/fixtures/*/proc). Each directory is replaced as a whole; file names
are the SHA-1 of the content, as libFuzzer names what it finds. Run it after changing a
list below and commit the result: scripts/fuzz never grows the committed corpus."""

import hashlib
import pathlib
import shutil

HERE = pathlib.Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"


def body_of(*items):
    return '{"observations":[' + ",".join(items) + "]}"


WIRE_FORMAT_EXAMPLE = """{"observations": [
  {"metric": "fingerprint_generation", "seconds": 1.84},
  {"metric": "api_request", "seconds": 2.31,
   "labels": {"endpoint": "/identify", "method": "POST", "status": "200"}},
  {"metric": "db_query", "seconds": 0.041, "labels": {"operation": "lookup"}},
  {"metric": "identification", "labels": {"result": "match"}},
  {"metric": "audio_processed", "seconds": 10.0},
  {"metric": "fingerprint_hashes", "count": 4919}
]}"""

API = '{"metric":"api_request","seconds":1,"labels":{"endpoint":"%s","method":"GET","status":"200"}}'

BATCH_PARSER = [
    WIRE_FORMAT_EXAMPLE,
    '{"observations":[]}',
    '{"version":1.0e0,"observations":[]}',
    body_of('{"labels":{"status":"404","endpoint":"/x","method":"GET"},"seconds":1e-3,'
            '"metric":"api_request"}'),
    body_of('{"metric":"fingerprint_generation","seconds":-0}'),
    body_of('{"metric":"fingerprint_generation","seconds":1e-400}'),
    body_of('{"metric":"fingerprint_generation","seconds":1.7976931348623157e308}'),
    body_of('{"metric":"fingerprint_hashes","count":9007199254740992}'),
    body_of('{"metric":"fingerprint_hashes","count":9007199254740993}'),
    body_of('{"metric":"fingerprint_hashes","count":4919.0}'),
    body_of('{"metr\\u0069c":"identific\\u0061tion","l\\u0061bels":{"\\u0072esult":"error"}}'),
    body_of(API % '\\/identify\\"q\\"\\\\\\b\\f\\n\\r\\t'),
    body_of(API % '\\u00e9\\u65e5\\ud83c\\udfb5\\uDBFF\\uDFFF'),
    body_of(API % 'a\\u0000b'),
    body_of(API % ("x" * 17)),
    body_of(API % "/a", API % "/b", API % "/c"),  # beyond the Store's cardinality of 2
    body_of('{"metric":"db_query","seconds":1,"labels":{"operation":""}}'),
    body_of('{"metric":"db_query","seconds":1,"labels":{"operation":"truncate"}}'),
    '{"observations":[],"extra":{"deep":[1,2,3]}}',
    '{"observations":[{"metric":"identification","labels":{"result":"match"}},]}',
    body_of('{"metric":"fingerprint_generation","seconds":1,"seconds":2}'),
    body_of('{"metric":"api_request","seconds":1,"labels":{"endpoint":"\\ud800"}}'),
    body_of('{"metric":"api_request","seconds":1,"labels":{"endpoint":"\xc3\x28"}}'),
]

STATSD = [
    "afp.fingerprint_generation:1840|ms",
    "afp.api_request:2310|ms|#endpoint:/identify,method:POST,status:200",
    "afp.db_query:41|ms|@0.5|#operation:lookup",
    "afp.identification:1|c|#result:match",
    "afp.audio_processed:10|c",
    "afp.fingerprint_hashes:4919|c",
    "afp.db_query:0.25|d|#env:prod,operation:insert|@0.25|c:abc|T1656581400",
    "afp.api_request:7|ms|#status:500,env:prod,method:GET,host:a,endpoint:/songs",
    "afp.fingerprint_generation:+2|d",
    "afp.db_query:.5|h|#operation:delete",
    "afp.audio_processed:10.5|c|@0.001",
    "afp.fingerprint_hashes:4.919e3|c",
    "afp.fingerprint_hashes:3|c|e:it-false,cn-x|c:id",
    "afp.db_query:1|ms|#,,operation:lookup,,",
    "afp.api_request:5|ms|#endpoint:/suche/\u00fcn\u00efc\u00f6d\u00e9/\U0001f3b5,method:GET,status:200",
    "afp.db_query:1|ms||#operation:lookup",
    "afp.db_query:1|ms|@0.5|@0.5|#operation:lookup",
    "afp.db_query:1|ms|T12a|#operation:lookup",
    "afp.db_query:1|ms|@1e-300|#operation:lookup",
    "afp.db_query:1e308|h|@0.5|#operation:lookup",
    "afp.db_query:1|g|#operation:lookup",
    "afp.db_query:1|ms|#operation:lookup,operation:insert",
    "afp.fingerprint_generation:1840|ms\nafp.identification:1|c|#result:match\r\n\n"
    "afp.db_query:x|ms|#operation:lookup\n",
    "afp.api_request:1|ms|#endpoint:/a,method:GET,status:200\n"
    "afp.api_request:1|ms|#endpoint:/b,method:GET,status:200\n"
    "afp.api_request:1|ms|#endpoint:/c,method:GET,status:200\n",
    "a\rb\n::\n|||",
]

SERVER_TIMING = [
    "total;dur=123.4",
    "db;dur=53, app;dur=47.2",
    "cache;desc=\"Cache Read\";dur=23.2",
    "miss, db;dur=53",
    "  a ; dur = 1 ;desc=\"x, y; z\" , b;dur=2  ",
    "a;desc=\"esc \\\" \\\\ , \\;\";dur=1",
    "a;desc=\"caf\u00e9\";dur=1",
    "a;DUR=5;Desc=x",
    "a;dur=1, a;dur=2, b, a",
    "a, , ,b,",
    "a;dur=\"7\"",
    "a;foo=bar;baz=\"q;,\";dur=4",
    "!#$%&'*+-.^_`|~09AZaz;dur=1",
    "fingerprint;dur=1840, lookup;dur=41;desc=\"db lookup\"",
    ", ".join("m%d;dur=%d" % (i, i) for i in range(33)),
    "a;dur=1e400",
    "a;desc=\"unterminated",
    "a;desc=\"ends in a backslash\\",
    "a;desc=\"ctl\x01\"",
    "a;=1",
    "n" * 65,
]

TEXT_PARSER = [
    "# HELP up Whether the target is up.\n# TYPE up gauge\nup 1\n\n# a free comment\n"
    "  indented_metric   2.5  \nwith_labels{a=\"x\",b=\"y\"} -3e-2\nempty_braces{} 4\n"
    "trailing_comma{a=\"x\",} 5\nspaced { a = \"x\" , b=\"\" } 6 1700000000000\n"
    "colon:name_total 7 -1\ntab\t8\ntight{a=\"x\"}9\n",
    "a NaN\nb Nan\nc +Inf\nd -Inf\ne Inf\nf 1e400\ng +2\n"
    "esc{v=\"back\\\\slash \\\"quoted\\\" new\\nline\"} 1\n",
    "# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.7\nh_count 2\n",
    "1metric 1", "metric", "metric abc", "metric 1 2 3", "metric 1 1.5",
    "metric{a=\"x\" 1", "metric{a=x} 1", "metric{a=\"x} 1", "metric{a=\"\\t\"} 1",
    "metric{a=\"x\",a=\"y\"} 1",
]

WEB_CONFIG_CERT = """-----BEGIN CERTIFICATE-----
MIIBejCCASGgAwIBAgIUb0/PTxX/GCMs/kEzMbBvBzdyk7EwCgYIKoZIzj0EAwIw
EzERMA8GA1UEAwwIYWZwLWZ1enowHhcNMjYxMjA2MDQwMjA1WhcNMzYxMjAzMDQw
MjA1WjATMREwDwYDVQQDDAhhZnAtZnV6ejBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABP9AkVaSmhmhw0rfzE/eKrC1iMH/Glz2HwMvRSJnQFB6YmSB5b4yv6pCiX1a
aTgq0lv0qFbiU7NHMFyTz4jyyaOjUzBRMB0GA1UdDgQWBBT288rkzK75xviTbZH2
u1zLW6MsdjAfBgNVHSMEGDAWgBT288rkzK75xviTbZH2u1zLW6MsdjAPBgNVHRMB
Af8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIBzGVQcdumhXrEqOrjTO3M+pJr5m
zvlUPli80nmeb/mFAiBGlnHKe6fcTog8noDHXYRAQUy4PNCCpXEy96BMc1ufWw==
-----END CERTIFICATE-----
"""
BCRYPT = "$2b$04$7KTZZi3VEhQi5I.E4jv3w.2VfFyZAOITwW456gbp5Y/73Sa5BgCk6"  # "secret"

WEB_CONFIG = [
    """# as node_exporter would have it
tls_server_config:
  cert_file: ../server.crt
  key_file: ../server.key
  min_version: TLS12
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  prefer_server_cipher_suites: true
  curve_preferences: [X25519, CurveP256]
http_server_config:
  http2: true
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
    Content-Security-Policy: ""
basic_auth_users:
  alice: %s
rate_limit:
  interval: 100ms
  burst: 10
""" % BCRYPT,
    "", "# nothing\n", "tls_server_config:\n", "tls_server_config: {}\n",
    "tls_server_config:\n  min_version: TLS13\n", "basic_auth_users: {}\n",
    "tls_server_config: {cert_fil: x}\n",
    "rate_limit: {interval: 1m30s, burst: 1}\n",
    "rate_limit: {interval: 1.5\u00b5s, burst: -1}\n",
    "http_server_config: {http2: maybe}\n",
    "tls_server_config: {cert_file: a\n",
    "tls_server_config:\n  cert: |\n" + "".join("    " + l + "\n" for l in WEB_CONFIG_CERT.splitlines())
    + "  key: garbage\n  client_auth_type: RequireAndVerifyClientCert\n",
    "basic_auth_users:\n  alice: $6$salt$notbcrypt\n",
    "basic_auth_users:\n  \"a:b\": %s\n" % BCRYPT,
    "http_server_config:\n  headers:\n    Server: afp\n",
    "http_server_config:\n  headers:\n    X-Frame-Options: \"deny\\nx\"\n",
    "a: &x [*x]\n",
    "[[[[[[]]]]]]\n",
    "? [a, b]\n: c\n",
]

STATEMENT_MERGE = [
    'SELECT upper(encode("hash", $1)), "song_id", "offset" FROM "fingerprints" '
    'WHERE "hash" IN (decode($2, $3), decode($4, $5))',
    'INSERT INTO fingerprints (hash, song_id, "offset") VALUES (decode($1, $2), $3, $4), '
    '(decode($5, $6), $7, $8) ON CONFLICT (song_id, "offset", hash) DO NOTHING',
    "INSERT INTO t VALUES ($1, DEFAULT, NULL), ($2, DEFAULT, NULL) RETURNING id",
    "SELECT * FROM (VALUES ($1, $2), ($3, $4)) AS v(a, b)",
    "SELECT 1 WHERE a IN (CAST($1 AS bigint), $2::character varying(10), "
    '$3::timestamp with time zone, $4::int[], $5::pg_catalog."char")',
    "SELECT 1 WHERE a IN (-$1, $2 || $3, date $4, interval '1 day', 42, 1.5e-3, "
    "'text', NULL, TRUE, false, E'it''s\\'', now(), pg_catalog.lower($5))",
    "SELECT 1 WHERE (a, b) IN (($1, $2), ($3, $4))",
    "SELECT 1 WHERE a IN (ARRAY[$1, $2], ARRAY[[$3], [$4]])",
    "SELECT 1 WHERE x IN (f(g($1), ($2)), (($3)), decode(upper($4), $5))",
    "SELECT 1 WHERE a IN ($1 /*, ... */)",
    "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3, $4) AND c = $5 OR d = $1",
    "SELECT 'a, (b' || c, \"x,(y\" FROM t WHERE d IN ($1, $2) AND e = 'IN ($1, $2)'",
    "SELECT $q$ IN ($1, $2) $q$, $$ values ($1) $$",
    "SELECT 1 /* IN ($1, $2) /* nested */ VALUES ($3) */ FROM t -- IN ($4)\n",
    "SELECT 1 FROM t WHERE a IN ((SELECT b FROM u), $1)",
    "SELECT 1 FROM t WHERE a IN (",
    "a\xff" "b\xc3\xa9\xe2\x82\xac\xf0\x9f\x8e\xb5",
    # Several statements, one a line: the merger's rows.
    "SELECT count(*) FROM songs\nSELECT * FROM t WHERE a IN ($1)\n"
    "SELECT * FROM t WHERE a IN ($1, $2)\n\x01SELECT 1\n\x02SELECT 2 WHERE b IN ($1)\n"
    "\x03SELECT 3\n\x04x\n\x05y\nSELECT * FROM t WHERE a IN ($1, $2, $3)\n",
]

BASIC_AUTH = [
    "Basic YWxpY2U6c2VjcmV0", "basic YWxpY2U6c2VjcmV0", "Basic Ym9iOnB3OndpdGg6Y29sb25z",
    "Bearer YWxpY2U6c2VjcmV0", "Basic YWxpY2U6c2VjcmV0=", "Basic !!!!", "Basic YWxpY2U=",
    "YWxpY2U6c2VjcmV0", "Og==", BCRYPT, "$2b$03$" + BCRYPT[7:], "$2b$04$" + "a" * 52 + "!",
    "$6$salt$hash",
]

BOUNDARY = "------------------------d74496d66958873e"
AUDIO = ("RIFF\0\0\x01\x02WAVE\r\n--\r\n\r\nx--" + BOUNDARY + "\0\xff\xfe tail")


def part(headers, content, boundary=BOUNDARY):
    return "--" + boundary + "\r\n" + headers + "\r\n" + content + "\r\n"


def form(body, boundary=BOUNDARY):
    return "multipart/form-data; boundary=" + boundary + "\n" + body


MULTIPART = [
    form(part('Content-Disposition: form-data; name="file"; filename="clip.wav"\r\n'
              "Content-Type: audio/wav\r\n", AUDIO) + "--" + BOUNDARY + "--\r\n"),
    form("preamble\r\n" + part('Content-Disposition: form-data; name="a"\r\n', "1")
         + part('content-disposition: form-data; name="b"\r\n', "2") + "--" + BOUNDARY + "--"),
    'Multipart/Form-Data;boundary="a b:c"\n' + part('Content-Disposition: form-data; name=x\r\n',
                                                   "", "a b:c") + "--a b:c--",
    form(part("Content-Type: text/plain\r\n", "x") + "--" + BOUNDARY + "--"),
    form(part('Content-Disposition: form-data; name="a"; name="b"\r\n', "x")),
    form("--" + BOUNDARY + " \t\r\n\r\n\r\n--" + BOUNDARY + "--"),
    "multipart/mixed; boundary=x\n--x\r\n",
    "multipart/form-data\n",
    "x\n--x\r\nContent-Disposition: form-data; name=\"\\\"q\\\"\"\r\n\r\nbody\r\n--x--",
]

# The /proc harnesses: every fixture tree's copy of the file they feed.
PROC_FILES = {
    "proc_stat": "stat",
    "proc_loadavg": "loadavg",
    "proc_meminfo": "meminfo",
    "proc_diskstats": "diskstats",
    "proc_netdev": "net/dev",
    "proc_mounts": "1/mounts",
    "proc_self_stat": "self/stat",
    "proc_self_limits": "self/limits",
    "proc_vmstat": "vmstat",
    "proc_file_nr": "sys/fs/file-nr",
}
PROC_EXTRA = {
    "proc_stat": [b"cpu0 1 2 3 4\ncpu1 1 2 3\ncpu 1 2 3 4\nbtime x\nbtime 1 2\n",
                  b"ctxt 1\nctxt 2\nintr\nprocesses -1\nprocs_running 1 2\nprocs_blocked 3"],
    "proc_vmstat": [b"pgfault 1\npgfault 2\npgmajfault\npswpin 1 2\npg{}fault 3\noom_kill 4",
                    b"pgpgin 18446744073709551615\npgpgout 18446744073709551616\n"],
    "proc_file_nr": [b"1\t0\t2", b"1 0\n", b"x 0 2\n", b"1 0 2 3\n"],
    "proc_meminfo": [b"MemTotal: 1 kB\nActive(anon): 2 kB\nHugePages_Total: 3\nX(: 4\n"],
    "proc_mounts": [b"a\\040b /mnt/a\\134\\011b ext4 ro,noatime 0 0\n"
                    b"tmpfs /run/credentials/x tmpfs rw 0 0\nnfs:/x /srv nfs4 rw 0 0\n"],
    "proc_self_stat": [b"1 (a) b) c) S " + b" ".join(b"%d" % i for i in range(50)) + b"\n"],
}


def proc_seeds(name):
    seeds = [p.read_bytes() for p in sorted(FIXTURES.glob("*/proc/" + PROC_FILES[name]))]
    return seeds + PROC_EXTRA.get(name, [])


# os-release(5) under the root tree, and a few quoting cases.
OS_RELEASE_EXTRA = [
    'NAME="a \\"b\\" \\\\ \\$c"\nID=\'x\'\nVERSION_ID=22.04.3\n',
    'PRETTY_NAME="unterminated\nID=two words\nlower=case\nID_LIKE="a" b\nVERSION_ID=.\n',
    "ID=\xff\xfe\nVERSION_ID=99999999999999999999999999.5\n# comment\n\n=\n",
]


def os_release_seeds():
    seeds = [p.read_bytes() for p in sorted(FIXTURES.glob("*/root/etc/os-release"))]
    return seeds + OS_RELEASE_EXTRA


# /sys/class/net/<device>/: the harness splits its input at NUL bytes into the attributes
# of fuzz_sys_class_net.cpp's list, in that order (a missing piece: no file).
NET_ATTRIBUTES = ["address", "broadcast", "duplex", "ifalias", "operstate", "carrier",
                  "carrier_changes", "ifindex", "mtu", "type", "speed", "tx_queue_len"]


def sys_class_net_seeds():
    seeds = []
    for device in sorted(FIXTURES.glob("*/sys/class/net/*")):
        pieces = []
        for attribute in NET_ATTRIBUTES:
            path = device / attribute
            pieces.append(path.read_bytes() if path.exists() else b"")
        seeds.append(b"\0".join(pieces))
    return seeds + [b"\0".join([b"\xff\n", b"", b"half", b"x" * 300, b"up", b"1x", b"-1",
                                 b"99999999999999999999", b"", b"772", b"-1\n", b" 5 "])]


def encode(seed):
    # Strings stand for bytes: chars up to U+00FF are one byte each, the rest UTF-8.
    if isinstance(seed, bytes):
        return seed
    if all(ord(c) < 0x100 for c in seed):
        return seed.encode("latin-1")
    return seed.encode("utf-8")


def write(name, seeds):
    directory = HERE / "corpus" / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    for seed in seeds:
        data = encode(seed)
        (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)
    print(f"{name}: {len(list(directory.iterdir()))} seeds")


def main():
    write("batch_parser", BATCH_PARSER)
    write("statsd", STATSD)
    write("server_timing", SERVER_TIMING)
    write("text_parser", TEXT_PARSER)
    write("web_config", WEB_CONFIG)
    write("basic_auth", BASIC_AUTH)
    write("statement_merge", STATEMENT_MERGE)
    write("multipart", MULTIPART)
    for name in PROC_FILES:
        write(name, proc_seeds(name))
    write("os_release", os_release_seeds())
    write("sys_class_net", sys_class_net_seeds())


if __name__ == "__main__":
    main()
