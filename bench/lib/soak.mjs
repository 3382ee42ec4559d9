// The memory run: a mixed load for several minutes (1M+ requests) against all workers, sampling
// each worker's RSS and the database size, with short token lifetimes so pruning is exercised.
import Database from 'better-sqlite3'
import { measure } from './load.mjs'
import { fileMiB, rssMiB } from './memory.mjs'
import { ROWS } from './rows.mjs'

const row = (key) => ROWS.find((candidate) => candidate.key === key)

export async function soak(ctx, { seconds, sampleEverySeconds = 15, dbFile }) {
  const samples = []
  const sample = async () => {
    const pids = await ctx.target.pids()
    samples.push({
      at: Math.round((performance.now() - started) / 1000),
      rss: pids.map((pid) => rssMiB(pid)),
      dbMiB: fileMiB(dbFile),
      walMiB: fileMiB(`${dbFile}-wal`),
    })
  }
  const started = performance.now()
  await sample()
  const timer = setInterval(() => void sample(), sampleEverySeconds * 1000)
  // Token issuance (a signature and a row per request) beside reads (JWKS, introspection, discovery).
  const [issuing, reading] = await Promise.all([
    row('client_credentials').run(ctx, { duration: seconds, warmup: 0, connections: 20 }),
    measure(ctx.target.issuer, {
      duration: seconds,
      warmup: 0,
      connections: 30,
      requests: [
        { method: 'GET', path: new URL(ctx.discovery.jwks_uri).pathname },
        // Introspection answers 200 even once the short-lived token has expired (active: false).
        {
          method: 'POST',
          path: new URL(ctx.discovery.introspection_endpoint).pathname,
          headers: {
            authorization: `Basic ${Buffer.from(`${ctx.target.service.clientId}:${ctx.target.service.clientSecret}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({ token: ctx.tokens.access_token }).toString(),
        },
        { method: 'GET', path: '/.well-known/openid-configuration' },
      ],
    }),
  ])
  clearInterval(timer)
  await sample()
  const db = new Database(dbFile, { readonly: true, fileMustExist: true })
  const accessTokenRows = db.prepare('select count(*) as n from access_tokens').get().n
  db.close()
  return {
    seconds,
    requests: issuing.requests + reading.requests,
    errors: issuing.errors + reading.errors,
    tokensIssued: issuing.requests,
    samples,
    accessTokenRows,
  }
}

/**
 * RSS change per worker from the first sample after warm-up to the last, in percent. The first
 * two minutes are warm-up: V8 sizes its heap to the load (and gives some back) before it settles.
 */
export function rssDrift(samples, warmupSeconds = 120) {
  const base = samples.find((s) => s.at >= warmupSeconds) ?? samples[0]
  const last = samples[samples.length - 1]
  return base.rss.map((rss, index) => (rss && last.rss[index] ? Math.round(((last.rss[index] - rss) / rss) * 1000) / 10 : null))
}
