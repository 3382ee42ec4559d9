// node bench/storage.mjs [sqlite|postgres|both]: bytes stored per user, session, grant and
// client_credentials token (bench/lib/storage-cost.mjs), as a markdown table and one JSON line.
//
//   BENCH_POSTGRES_ADMIN_URL   a role that may create databases (default postgres://tessera:tessera@127.0.0.1:5432/postgres);
//                              a throwaway database bench_storage_* is created and dropped
//   BENCH_STORAGE_USERS=5000 BENCH_STORAGE_SESSIONS=500 BENCH_STORAGE_GRANTS=5000 BENCH_STORAGE_CLIENT_CREDENTIALS=2000
import { renderStorageTable, storageCost } from './lib/storage-cost.mjs'
import * as tessera from './targets/tessera.mjs'

const which = process.argv[2] ?? 'both'
if (!['sqlite', 'postgres', 'both'].includes(which)) {
  process.stderr.write('usage: node bench/storage.mjs [sqlite|postgres|both]\n')
  process.exit(2)
}
const counts = {
  users: Number(process.env.BENCH_STORAGE_USERS ?? 5000),
  sessions: Number(process.env.BENCH_STORAGE_SESSIONS ?? 500),
  grants: Number(process.env.BENCH_STORAGE_GRANTS ?? 5000),
  clientCredentials: Number(process.env.BENCH_STORAGE_CLIENT_CREDENTIALS ?? 2000),
}
const results = {}
for (const dialect of which === 'both' ? ['sqlite', 'postgres'] : [which])
  results[dialect] = await storageCost({ target: tessera, dialect, ...counts })
process.stdout.write(renderStorageTable(results))
process.stdout.write(`${JSON.stringify({ date: new Date().toISOString().slice(0, 10), ...results })}\n`)
