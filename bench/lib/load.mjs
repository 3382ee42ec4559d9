// The load generator: autocannon, run from this process (the servers are separate processes).
// Every row gets a warm-up first, then a measured run; latencies come from autocannon's HDR
// histogram (corrected for coordinated omission when a fixed rate is asked for). With `cpu`
// (() → { part: CPU seconds }), the CPU each part spent in the measured run only, per operation.
import autocannon from 'autocannon'

export const CONNECTIONS = 50

function fire(options) {
  return new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, ...options }, (error, result) => (error ? reject(error) : resolve(result)))
  })
}

/**
 * Runs `requests` (an autocannon request list) against `url`. `steps` is the number of HTTP
 * requests one operation takes (a login is three): rates are reported per operation. Returns
 * req/s, p50, p99 and errors (connection errors, timeouts, non-2xx/3xx answers).
 */
export async function measure(
  url,
  { requests, duration, warmup = 3, amount, overallRate, steps = 1, connections = CONNECTIONS, title, cpu },
) {
  if (warmup > 0 && amount === undefined)
    await fire({ url, requests, duration: warmup, connections, ...(overallRate ? { overallRate } : {}) })
  // CPU of each process involved, around the measured part only (not the warm-up or preparation).
  const cpuBefore = cpu?.()
  // autocannon refuses more connections than requests.
  const result = await fire({
    url,
    requests,
    connections: amount !== undefined ? Math.min(connections, amount) : connections,
    title,
    // autocannon ends a run only at its next sample tick (every second by default): a run of 6.1 s
    // of `amount` requests counted as 7 s and understated the rate by up to a sixth, and a slice
    // of 1 s (bench/run.mjs) could last 2 s. Ticks every 50 ms bound that to 1% and 5%.
    sampleInt: 50,
    ...(amount !== undefined ? { amount } : { duration }),
    ...(overallRate ? { overallRate } : {}),
  })
  const seconds = result.duration
  const completed = result.requests.total
  const cpuAfter = cpu?.()
  const operations = completed / steps
  const cpuMs =
    cpuBefore && operations > 0
      ? Object.fromEntries(
          Object.entries(cpuAfter)
            .filter(([name, value]) => value !== undefined && cpuBefore[name] !== undefined)
            .map(([name, value]) => [name, Number((((value - cpuBefore[name]) * 1000) / operations).toFixed(3))]),
        )
      : undefined
  return {
    perSecond: Math.round(completed / steps / seconds),
    ...(cpuMs ? { cpuMs } : {}),
    requests: completed,
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    errors: result.errors + result.timeouts + result['4xx'] + result['5xx'],
    seconds,
  }
}

/** The value at quantile `p` of an ascending list (null when empty), to two decimals. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null
  return Number(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))].toFixed(2))
}
