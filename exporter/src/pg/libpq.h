#pragma once

#include <libpq-fe.h>

namespace afp::pg {

// libpq, loaded with dlopen the first time a PostgreSQL DSN is used. Linked normally it
// would bring libldap, GnuTLS, Kerberos and p11-kit into every exporter (3 MB of resident
// set), including the many that never talk to PostgreSQL.
#define AFP_LIBPQ_FUNCTIONS(X) \
  X(PQconninfoParse)           \
  X(PQconninfoFree)            \
  X(PQfreemem)                 \
  X(PQconnectStartParams)      \
  X(PQconnectPoll)             \
  X(PQstatus)                  \
  X(PQerrorMessage)            \
  X(PQdb)                      \
  X(PQsocket)                  \
  X(PQsetnonblocking)          \
  X(PQfinish)                  \
  X(PQserverVersion)           \
  X(PQsendQuery)               \
  X(PQsetSingleRowMode)        \
  X(PQflush)                   \
  X(PQconsumeInput)            \
  X(PQisBusy)                  \
  X(PQgetResult)               \
  X(PQresultStatus)            \
  X(PQresultErrorMessage)      \
  X(PQclear)                   \
  X(PQntuples)                 \
  X(PQnfields)                 \
  X(PQfnumber)                 \
  X(PQgetvalue)                \
  X(PQgetlength)               \
  X(PQgetisnull)

struct Libpq {
#define AFP_LIBPQ_MEMBER(name) decltype(&::name) name = nullptr;
  AFP_LIBPQ_FUNCTIONS(AFP_LIBPQ_MEMBER)
#undef AFP_LIBPQ_MEMBER
};

// The loaded library; throws PgError ("install libpq5") when it cannot be loaded.
const Libpq& libpq();

}  // namespace afp::pg
